import type { CallbackEvent } from '../domain/events.js'
import type { CallbackAttemptInfo, CallbackInfo, CallbackListFilter, Page } from '../store/callbacks.js'

/** One metric of `/v1/stats/app` as the On-Prem stats shape carries it. */
export interface StatSample {
  labels?: Record<string, string>
  value: number
}

/** One metric in the On-Prem stats shape (onprem-api.md §7.3). */
export interface StatMetric {
  type: string
  help: string
  data: StatSample[]
}

/** What `/v1/stats/app` shows. */
export interface AppStats {
  callback_queue_size: StatMetric
  /** Delivery attempts by `result` (HTTP status or `success`/`error`) and event `type`. */
  callback_requests: StatMetric
}

export type CallbackFormat = 'onprem' | 'cloud'

/**
 * What the WebApp needs of the webhook side: a number's callback queue, replay, stats, the
 * signing secret and the exact body a callback is POSTed with. The WebApp does not import
 * `src/webhooks`: `WebhookService` of `src/webhooks/service.ts` implements this port and the
 * composition root (src/cli) passes it in.
 */
export interface WebhooksPort {
  list(phoneNumberId: string, filter: CallbackListFilter, page?: { limit?: number; after?: number }): Promise<Page<CallbackInfo>>
  get(phoneNumberId: string, seq: number): Promise<CallbackInfo | undefined>
  /** Every attempt of one callback, oldest first. */
  attempts(phoneNumberId: string, seq: number): Promise<CallbackAttemptInfo[]>
  /** A dead callback back to pending, due now; 1006 if there is no such dead callback. */
  replay(phoneNumberId: string, seq: number): Promise<void>
  /** Every dead callback of the number back to pending; how many. */
  replayAllDead(phoneNumberId: string): Promise<number>
  stats(phoneNumberId: string): Promise<AppStats>
  /** The number's X-Hub-Signature-256 secret, generated on first use. */
  webhookSecret(phoneNumberId: string): Promise<string>
  rotateWebhookSecret(phoneNumberId: string): Promise<string>
  /** Webhook settings or subscriptions may have changed: a dispatcher in this process re-reads them at once. */
  configChanged(): void
  /** The exact bytes a POST of `events` of this number carries now, and their format (a Cloud-hosted number's is always `cloud`). */
  renderFor(phoneNumberId: string, events: readonly CallbackEvent[]): Promise<{ format: CallbackFormat; body: Buffer }>
}
