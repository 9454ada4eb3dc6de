import type { CallbackEvent } from '../domain/events.js'
import { renderCloudWebhook, type CloudWebhookNumber } from './format-cloud.js'
import { renderOnPremWebhook } from './format-onprem.js'
import { asciiJson } from './signing.js'

export type WebhookFormat = 'onprem' | 'cloud'

/** What decides the shape of a number's callback bodies. */
export interface CallbackNumberInfo {
  id: string
  waId: string
  wabaId: string | null
  /** ON_PREMISE | CLOUD_API */
  platformType: string
  /** The number's `webhooks.format` setting. */
  format: WebhookFormat
}

/**
 * The format and number a callback body is rendered with. A Cloud-hosted number always gets
 * Cloud bodies, billed per message, whatever its `webhooks.format` says (that setting is for
 * On-Prem numbers); `entry[].id` is the number's WABA.
 */
export function callbackShape(n: CallbackNumberInfo): { format: WebhookFormat; number: CloudWebhookNumber } {
  const cloudHosted = n.platformType === 'CLOUD_API'
  return {
    format: cloudHosted ? 'cloud' : n.format,
    number: { id: n.id, displayPhoneNumber: n.waId, wabaId: n.wabaId, perMessagePricing: cloudHosted },
  }
}

/** The exact bytes POSTed for a batch of events: rendered, then ASCII-escaped JSON. */
export function renderPayload(format: WebhookFormat, events: readonly CallbackEvent[], number: CloudWebhookNumber): Buffer {
  const body = format === 'cloud' ? renderCloudWebhook(events, number) : renderOnPremWebhook(events)
  return Buffer.from(asciiJson(body), 'ascii')
}
