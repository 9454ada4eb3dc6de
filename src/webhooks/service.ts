import { X509Certificate } from 'node:crypto'
import type { CallbackEvent } from '../domain/events.js'
import { OnPremCode, WaboxError } from '../errors/index.js'
import type { CallbackAttemptInfo, CallbackInfo, CallbackListFilter, Page } from '../store/callbacks.js'
import type { Store } from '../store/store.js'
import { callbackShape, renderPayload, type WebhookFormat } from './payload.js'

/** `{type, help, data:[{labels?, value}]}`, the On-Prem stats/metrics object (onprem §7.3). */
export interface StatsMetric {
  type: 'gauge' | 'counter'
  help: string
  data: { labels?: Record<string, string>; value: number }[]
}

export interface CallbackStats {
  callback_queue_size: StatsMetric
  callback_requests: StatsMetric
}

export interface PageRequest {
  /** 1–500, default 50. */
  limit?: number
  /** The `next` of the previous page. */
  after?: number
}

const EVENT_TYPE_LABELS: Record<string, string> = {
  message: 'inbound_message',
  status: 'status_change',
  contacts: 'contacts',
  error: 'error',
}

/**
 * What the WebApp exposes about a number's callbacks: the queue, the attempt log, replay of
 * dead letters, stats, the signing secret and the webhook CA. Stateless over the store, so any
 * WebApp process can serve it while a CoreApp process runs the dispatcher.
 */
export class WebhookService {
  readonly #store: Store
  readonly #wake: () => void
  readonly #reload: () => void

  /**
   * `wake`: the local dispatcher's wake(), so a replay is delivered at once; `reload`: its
   * reloadConfigs(), so a changed webhook setting applies to the next callback (all-in-one).
   */
  constructor(opts: { store: Store; wake?: () => void; reload?: () => void }) {
    this.#store = opts.store
    this.#wake = opts.wake ?? (() => undefined)
    this.#reload = opts.reload ?? (() => undefined)
  }

  configChanged(): void {
    this.#reload()
  }

  /** Every undelivered callback (new and retrying), oldest first. */
  listPending(phoneNumberId: string, page?: PageRequest): Promise<Page<CallbackInfo>> {
    return this.list(phoneNumberId, 'pending', page)
  }

  /** Undelivered callbacks that failed at least once. */
  listFailed(phoneNumberId: string, page?: PageRequest): Promise<Page<CallbackInfo>> {
    return this.list(phoneNumberId, 'failed', page)
  }

  /** Dead letters: their retry window ran out; replay them once the endpoint works. */
  listDead(phoneNumberId: string, page?: PageRequest): Promise<Page<CallbackInfo>> {
    return this.list(phoneNumberId, 'dead', page)
  }

  list(phoneNumberId: string, filter: CallbackListFilter, page: PageRequest = {}): Promise<Page<CallbackInfo>> {
    return this.#store.callbacks.list(phoneNumberId, filter, page)
  }

  get(phoneNumberId: string, seq: number): Promise<CallbackInfo | undefined> {
    return this.#store.callbacks.get(phoneNumberId, seq)
  }

  /** Every attempt of one callback: time, HTTP status, latency, error. */
  attempts(phoneNumberId: string, seq: number): Promise<CallbackAttemptInfo[]> {
    return this.#store.callbacks.attempts(phoneNumberId, seq)
  }

  /** A dead callback back to pending, due now. Throws 1006 if there is no such dead callback. */
  async replay(phoneNumberId: string, seq: number): Promise<void> {
    if (!(await this.#store.callbacks.replay(phoneNumberId, seq))) {
      throw new WaboxError(OnPremCode.RESOURCE_NOT_FOUND, `No dead-lettered callback ${seq} for this number`)
    }
    this.#wake()
  }

  /** Every dead callback of the number back to pending; returns how many. */
  async replayAllDead(phoneNumberId: string): Promise<number> {
    const n = await this.#store.callbacks.replayAllDead(phoneNumberId)
    if (n > 0) this.#wake()
    return n
  }

  /** `callback_queue_size` and `callback_requests` for `/v1/stats/app` (one number, or all). */
  async stats(phoneNumberId?: string): Promise<CallbackStats> {
    const [queued, requests] = await Promise.all([
      this.#store.callbacks.pendingCount(phoneNumberId),
      this.#store.callbacks.requestCounts(phoneNumberId),
    ])
    const counts = new Map<string, { labels: Record<string, string>; value: number }>()
    for (const r of requests) {
      const result = r.httpStatus === 200 ? 'success' : r.httpStatus === null ? 'error' : String(r.httpStatus)
      const type = EVENT_TYPE_LABELS[r.eventType ?? ''] ?? 'unknown'
      const key = `${result}|${type}`
      const entry = counts.get(key) ?? { labels: { result, type }, value: 0 }
      entry.value += r.count
      counts.set(key, entry)
    }
    return {
      callback_queue_size: { type: 'gauge', help: 'Number of callbacks waiting for delivery', data: [{ value: queued }] },
      callback_requests: { type: 'counter', help: 'Callback delivery attempts by result (success, HTTP status or error) and type', data: [...counts.values()] },
    }
  }

  /**
   * The bytes the dispatcher would POST for these events of this number now, and their format:
   * the one its platform and settings give (a Cloud-hosted number's always Cloud, with its WABA id).
   */
  async renderFor(phoneNumberId: string, events: readonly CallbackEvent[]): Promise<{ format: WebhookFormat; body: Buffer }> {
    const row = await this.#store.numbers.get(phoneNumberId)
    if (!row) throw new WaboxError(OnPremCode.RESOURCE_NOT_FOUND, `No phone number ${phoneNumberId}`)
    const format = this.#store.numbers.settings(row).webhooks.format
    const shape = callbackShape({ id: row.id, waId: row.wa_id, wabaId: row.waba_id, platformType: row.platform_type, format })
    return { format: shape.format, body: renderPayload(shape.format, events, shape.number) }
  }

  /**
   * The secret that signs the number's callbacks, to configure the receiver: its own (generated
   * on first use), or for a Cloud-hosted number the app secret of its WABA's app.
   */
  async webhookSecret(phoneNumberId: string): Promise<string> {
    return (await this.#store.callbacks.signingSecret(phoneNumberId)).secret
  }

  /** A new secret of the number's own; 1005 for a Cloud-hosted number signed with its app's secret. */
  async rotateWebhookSecret(phoneNumberId: string): Promise<string> {
    const { appId } = await this.#store.callbacks.signingSecret(phoneNumberId)
    if (appId !== null) {
      throw new WaboxError(OnPremCode.ACCESS_DENIED, `This number is Cloud-hosted: its callbacks are signed with the secret of app ${appId}, which a number's credentials cannot rotate`)
    }
    return this.#store.callbacks.rotateWebhookSecret(phoneNumberId)
  }

  webhookCa(phoneNumberId: string): Promise<string | null> {
    return this.#store.callbacks.webhookCa(phoneNumberId)
  }

  /** Stores a PEM CA (one or more certificates) trusted for this number's endpoint; 1009 if it is not one. */
  async setWebhookCa(phoneNumberId: string, pem: string): Promise<void> {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
    if (blocks.length === 0) throw new WaboxError(OnPremCode.PARAMETER_INVALID, 'The webhook CA must be PEM-encoded certificates')
    for (const block of blocks) {
      try {
        new X509Certificate(block)
      } catch {
        throw new WaboxError(OnPremCode.PARAMETER_INVALID, 'The webhook CA contains a certificate that cannot be parsed')
      }
    }
    await this.#store.callbacks.setWebhookCa(phoneNumberId, blocks.join('\n') + '\n')
  }

  async removeWebhookCa(phoneNumberId: string): Promise<void> {
    await this.#store.callbacks.setWebhookCa(phoneNumberId, null)
  }
}
