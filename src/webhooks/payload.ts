import type { CallbackEvent } from '../domain/events.js'
import { renderCloudWebhook, type CloudWebhookNumber } from './format-cloud.js'
import { renderOnPremWebhook } from './format-onprem.js'
import { asciiJson } from './signing.js'

export type WebhookFormat = 'onprem' | 'cloud'

/** The exact bytes POSTed for a batch of events: rendered, then ASCII-escaped JSON. */
export function renderPayload(format: WebhookFormat, events: readonly CallbackEvent[], number: CloudWebhookNumber): Buffer {
  const body = format === 'cloud' ? renderCloudWebhook(events, number) : renderOnPremWebhook(events)
  return Buffer.from(asciiJson(body), 'ascii')
}
