import { maskWebhookUrl } from '../../domain/webhook-secrets.js'
import type { WebhookEndpoint } from '../../domain/webhook-target.js'
import { CloudCode, invalid, WaboxError } from '../../errors/index.js'
import type { WebContext } from '../context.js'
import { checkedUrl, webhookUrlPolicy } from './webhook-config.js'

/**
 * Cloud webhook configuration at Meta's three levels (app subscription, WABA override, phone
 * number override): what every level shares. A URL is stored only after it passed the guard of
 * the On-Prem webhook configuration and Meta's GET verification handshake.
 */

/** The verify token travels in the handshake's query string: room for any secret, not for a document. */
export const VERIFY_TOKEN_MAX_CHARS = 1024

/** The names a request gives the URL and the token, for errors. */
export interface EndpointFields {
  url: string
  verifyToken: string
}

/**
 * The endpoint to store: the URL checked (https://, no private or metadata address; http:// to
 * loopback in the dev profile), then verified with a GET handshake that sends `verifyToken`.
 * Throws 131009 naming the field for a URL or token that cannot be used, 2200 saying what came
 * back when the handshake fails.
 */
export async function verifiedEndpoint(ctx: WebContext, fields: EndpointFields, url: string, verifyToken: string): Promise<WebhookEndpoint> {
  if (verifyToken === '') throw invalid(fields.verifyToken, 'must not be empty: the handshake sends it for your endpoint to check')
  if (verifyToken.length > VERIFY_TOKEN_MAX_CHARS) {
    throw invalid(fields.verifyToken, `must be at most ${VERIFY_TOKEN_MAX_CHARS} characters (got ${verifyToken.length})`)
  }
  const checked = await checkedUrl(ctx, fields.url, url)
  const result = await ctx.deps.callbackVerifier.verify({
    url: checked, verifyToken, policy: webhookUrlPolicy(ctx), timeoutMs: ctx.limits.webhookHandshakeTimeoutMs,
  })
  if (!result.ok) {
    throw new WaboxError(CloudCode.CALLBACK_VERIFICATION_FAILED, `Callback verification failed with the following errors: ${fields.url}: ${result.problem}`)
  }
  return { url: checked, verifyToken }
}

/** A stored callback URL as answers show it: credentials in it masked. */
export function shownUrl(endpoint: WebhookEndpoint): string {
  return maskWebhookUrl(endpoint.url) ?? ''
}

/** Where a number's notifications are configured at each level (Meta's `webhook_configuration` field). */
export interface WebhookConfiguration {
  /** The phone number's override. */
  phone_number?: string
  /** The override of the number's WABA. */
  whatsapp_business_account?: string
  /** The callback of the app subscribed to the number's WABA. */
  application?: string
}

/** The `webhook_configuration` of a number: each level that has a URL, masked; `{}` for a number in no WABA. */
export async function webhookConfigurationOf(ctx: WebContext, phoneNumberId: string): Promise<WebhookConfiguration> {
  const { store } = ctx
  const hosting = await store.numbers.hosting(phoneNumberId)
  const waba = hosting?.wabaId ? await store.wabas.get(hosting.wabaId) : undefined
  const [phone, wabaOverride, app] = await Promise.all([
    store.webhookSubscriptions.getPhone(phoneNumberId),
    waba ? store.webhookSubscriptions.getWaba(waba.id) : undefined,
    waba?.appId ? store.webhookSubscriptions.getApp(waba.appId) : undefined,
  ])
  const out: WebhookConfiguration = {}
  if (phone) out.phone_number = shownUrl(phone)
  if (wabaOverride) out.whatsapp_business_account = shownUrl(wabaOverride)
  if (app) out.application = shownUrl(app)
  return out
}
