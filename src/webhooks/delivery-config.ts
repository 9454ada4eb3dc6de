import type pino from 'pino'
import { withDefaults, type ApplicationSettings } from '../domain/settings.js'
import { resolveWebhookTarget, type WebhookTargetLevel } from '../domain/webhook-target.js'
import type { NumberDeliveryConfig } from '../store/callbacks.js'
import type { Store } from '../store/store.js'
import type { CloudWebhookNumber } from './format-cloud.js'
import { callbackShape, type WebhookFormat } from './payload.js'
import { parseWebhookUrl, WebhookUrlRefused, type UrlPolicy, type WebhookTarget } from './url-guard.js'

/** A number's row with its settings parsed, its route resolved and its URL checked, once per refresh. */
export interface NumberConfig extends NumberDeliveryConfig {
  /**
   * The settings as delivery applies them. For a Cloud-hosted number `webhooks.format` is
   * `cloud` (retries and batching follow it), `webhooks.url` is the resolved route, and
   * `webhooks.headers` are sent only to its own URL setting, the one they were configured with.
   */
  parsed: ApplicationSettings
  /** Which level of the Cloud subscriptions the URL came from; null for On-Prem numbers and when there is none. */
  route: WebhookTargetLevel | null
  shape: { format: WebhookFormat; number: CloudWebhookNumber }
  /** The sealed secret that signs this number's callbacks instead of its own: its app's, for a Cloud-hosted number. */
  sealedSigningSecret: Buffer | null
  /** The parsed target, or why the URL is refused. */
  target: WebhookTarget | WebhookUrlRefused | null
  /** Most POSTs in flight to this number's endpoint, per dispatcher. */
  maxConcurrent: number
}

/**
 * POSTs in flight per Cloud-hosted number and dispatcher. The Cloud API has no setting for it
 * and sends one event per POST: On-Prem's default of 6 would cap a receiver that answers in
 * 5 ms at 1,200 callbacks/s; 32 keeps 2,000/s up to ~15 ms per answer.
 */
export const CLOUD_POSTS_IN_FLIGHT = 32

/**
 * What the dispatcher needs to deliver a number's callbacks. An On-Prem number is delivered
 * as its settings say. A Cloud-hosted one goes where Meta's three levels of subscriptions
 * route `messages` notifications (every event the outbox holds is one), in Cloud format,
 * signed with its WABA's app secret.
 */
export function deliveryConfig(row: NumberDeliveryConfig, store: Store, policy: UrlPolicy, log: pino.Logger): NumberConfig {
  const cloudHosted = row.platformType === 'CLOUD_API'
  let parsed: ApplicationSettings
  let route: WebhookTargetLevel | null = null
  try {
    // the store unseals the webhook URL, headers and subscriptions
    parsed = store.numbers.parseSettings(row.settings)
    if (cloudHosted) {
      const resolved = resolveWebhookTarget('messages', store.webhookSubscriptions.openRoutes(row, parsed.webhooks.url))
      route = resolved?.level ?? null
      const headers = route === 'number_setting' ? parsed.webhooks.headers : {}
      parsed = { ...parsed, webhooks: { ...parsed.webhooks, format: 'cloud', url: resolved?.url ?? null, headers } }
    }
  } catch (err) {
    // one number's broken settings must not stop the others: its callbacks wait
    log.error({ err, phoneNumberId: row.id }, 'unreadable webhook settings; callbacks of this number wait')
    parsed = withDefaults({})
  }
  let target: NumberConfig['target'] = null
  if (parsed.webhooks.url) {
    try {
      target = parseWebhookUrl(parsed.webhooks.url, policy)
    } catch (err) {
      if (!(err instanceof WebhookUrlRefused)) throw err
      target = err
    }
  }
  const shape = callbackShape({ id: row.id, waId: row.waId, wabaId: row.wabaId, platformType: row.platformType, format: parsed.webhooks.format })
  const maxConcurrent = cloudHosted ? CLOUD_POSTS_IN_FLIGHT : Number(parsed.webhooks.max_concurrent_requests) || 6
  return { ...row, parsed, route, shape, sealedSigningSecret: cloudHosted ? row.sealedAppSecret : null, target, maxConcurrent }
}
