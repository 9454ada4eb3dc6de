import type { KeyObject } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type pino from 'pino'
import prom from 'prom-client'
import type { Dispatcher } from 'undici'
import type { Clock } from '../clock.js'
import type { CallbackEvent } from '../domain/events.js'
import { eventsPerPost } from '../domain/settings.js'
import { randomToken } from '../ids.js'
import type { AttemptOutcome, ClaimedCallback } from '../store/callbacks.js'
import type { Store } from '../store/store.js'
import { nextRetry } from './backoff.js'
import { deliveryConfig, type NumberConfig } from './delivery-config.js'
import { WebhookHttp, type DeliveryResult } from './http-delivery.js'
import { WebhookMetrics } from './metrics.js'
import { OutcomeWriter } from './outcome-writer.js'
import { renderPayload } from './payload.js'
import { signatureHeader, signingKey } from './signing.js'
import { redactUrl, WebhookUrlRefused, type Resolver, type UrlPolicy } from './url-guard.js'

export interface WebhookDispatcherOptions {
  store: Store
  clock: Clock
  logger: pino.Logger
  /** Where the wabox_callback_* metrics go; a private registry when absent. */
  registry?: prom.Registry
  /** Dev profile: `http://` (and https) to loopback addresses. */
  allowInsecureLoopback?: boolean
  /** Private, loopback and link-local targets (receivers on the LAN). */
  allowPrivateNetworks?: boolean
  /** How often due callbacks (retries, other processes' enqueues) are looked for. Default 1000. */
  pollIntervalMs?: number
  /** Most callbacks claimed per number in one claim. Default 100. */
  batchSize?: number
  /** How long a claim is held; a crashed dispatcher's claims come back after it. Default 60 s. */
  leaseMs?: number
  /** One POST's time limit; must be below leaseMs. Default 20 s. */
  requestTimeoutMs?: number
  /** Delivered callbacks and their attempt log are deleted after this long. Default 7 days. */
  retentionMs?: number
  /** Replaces the per-number connection pools (tests). The URL guard then checks DNS before connecting instead of pinning it. */
  dispatcher?: Dispatcher
  /** DNS resolver for the URL guard (tests). */
  resolve?: Resolver
  /** Called after attempt outcomes were recorded. */
  onRecorded?: () => void
}

interface NumberState {
  inFlight: number
  /** The last claim was cut short by its limit: more are probably due. */
  backlog: boolean
  /** Claimed ahead of free slots (the loop claims in batches), oldest first. */
  queue: { row: ClaimedCallback; leaseEnd: number }[]
  /** The signing key, kept while its sealed form is unchanged. */
  secret?: { sealed: Buffer | null; key: KeyObject }
}

const PURGE_EVERY_MS = 10 * 60_000
const PURGE_BATCH = 1000

/**
 * The callback outbox's delivery loop: claim due callbacks per number (bounded by the number's
 * max_concurrent_requests), POST them in the number's format, record every attempt, retire a
 * callback only on HTTP 200, otherwise reschedule it or dead-letter it. All state is in the
 * database, so a restart (or a crash) loses nothing; the price is at-least-once delivery.
 */
export class WebhookDispatcher {
  /** Identifies this dispatcher's claims. */
  readonly owner = `wd-${randomToken(9)}`
  readonly #store: Store
  readonly #clock: Clock
  readonly #log: pino.Logger
  readonly #metrics: WebhookMetrics
  readonly #http: WebhookHttp
  readonly #policy: UrlPolicy
  readonly #pollIntervalMs: number
  readonly #batchSize: number
  readonly #leaseMs: number
  readonly #retentionMs: number
  readonly #requestTimeoutMs: number
  readonly #numbers = new Map<string, NumberState>()
  /** POSTs in flight with their outcome's bookkeeping. */
  readonly #deliveries = new Set<Promise<void>>()
  readonly #writer: OutcomeWriter
  #configs: { at: number; rows: NumberConfig[] } | null = null
  #running = false
  #loop: Promise<void> | null = null
  #wakeSleep: (() => void) | null = null
  #fullPassDue = true
  #poked = false
  #rotation = 0
  #lastPurge = 0

  constructor(opts: WebhookDispatcherOptions) {
    this.#store = opts.store
    this.#clock = opts.clock
    this.#log = opts.logger.child({ component: 'webhooks' })
    this.#metrics = new WebhookMetrics(opts.registry ?? new prom.Registry(), opts.store)
    this.#policy = { allowInsecureLoopback: opts.allowInsecureLoopback ?? false, allowPrivateNetworks: opts.allowPrivateNetworks ?? false }
    this.#pollIntervalMs = opts.pollIntervalMs ?? 1000
    this.#batchSize = opts.batchSize ?? 100
    this.#leaseMs = opts.leaseMs ?? 60_000
    this.#retentionMs = opts.retentionMs ?? 7 * 86_400_000
    const requestTimeoutMs = opts.requestTimeoutMs ?? Math.min(20_000, Math.floor(this.#leaseMs / 2))
    this.#requestTimeoutMs = requestTimeoutMs
    if (requestTimeoutMs >= this.#leaseMs) throw new RangeError('requestTimeoutMs must be below leaseMs, or claims would expire mid-request')
    if (this.#batchSize < 1) throw new RangeError('batchSize must be at least 1')
    this.#writer = new OutcomeWriter(this.#store, this.owner, this.#log, opts.onRecorded)
    this.#http = new WebhookHttp({
      policy: this.#policy,
      requestTimeoutMs,
      userAgent: 'wabox-webhooks/1',
      dispatcher: opts.dispatcher,
      resolve: opts.resolve,
    })
  }

  /** Starts the loop; returns at once. */
  start(): void {
    if (this.#running) return
    this.#running = true
    this.#http.reopen()
    this.#fullPassDue = true
    this.#loop = this.#run()
  }

  /** Look for due callbacks now (call after an enqueue in this process). */
  wake(): void {
    this.#fullPassDue = true
    this.#poke()
  }

  /**
   * Stops claiming, waits up to `timeoutMs` for requests in flight, aborts the rest (their
   * callbacks are released, due again, no attempt counted) and writes every outcome.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.#running = false
    this.#poke()
    await this.#loop
    this.#loop = null
    // claimed but never sent: due again at once for whoever runs next
    for (const state of this.#numbers.values()) this.#writer.release(state.queue.splice(0).map((q) => q.row.seq))
    if (this.#deliveries.size > 0) {
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs) })
      await Promise.race([Promise.allSettled([...this.#deliveries]), timedOut])
      clearTimeout(timer)
    }
    this.#http.abortAll()
    await Promise.allSettled([...this.#deliveries])
    await this.#writer.close()
    await this.#http.close()
  }

  /**
   * One full claim pass without the loop: claims what is due now (up to each number's free
   * slots), delivers it and records the outcomes before resolving. Returns how many callbacks
   * were attempted. For tests and tools; do not mix with start().
   */
  async runOnce(): Promise<number> {
    this.#configs = null // settings as they are now, not as cached by the loop
    const started = await this.#claimPass(true, false)
    await Promise.allSettled(started.map((s) => s.done))
    await this.#writer.flush()
    return started.reduce((n, s) => n + s.count, 0)
  }

  /** Webhook settings or subscriptions changed: re-read them before the next claim, which starts now. */
  reloadConfigs(): void {
    this.#configs = null
    this.#poke()
  }

  #poke(): void {
    this.#poked = true
    this.#wakeSleep?.()
  }

  async #run(): Promise<void> {
    let nextFullAt = performance.now()
    // one timer per poll interval, not one per sleep: under load the loop sleeps once per POST
    let fullTimer: NodeJS.Timeout | null = null
    try {
      while (this.#running) {
        if (performance.now() >= nextFullAt) this.#fullPassDue = true
        const full = this.#fullPassDue
        this.#fullPassDue = false
        this.#poked = false
        if (full) {
          nextFullAt = performance.now() + this.#pollIntervalMs
          if (fullTimer) clearTimeout(fullTimer)
          fullTimer = setTimeout(() => {
            fullTimer = null
            this.#fullPassDue = true
            this.#wakeSleep?.()
          }, this.#pollIntervalMs)
        }
        try {
          await this.#claimPass(full, true)
          if (full) await this.#purge()
        } catch (err) {
          this.#log.error({ err }, 'webhook claim pass failed; retrying at the next poll')
        }
        if (!this.#running || this.#poked || this.#fullPassDue) continue
        await new Promise<void>((resolve) => { this.#wakeSleep = resolve })
        this.#wakeSleep = null
      }
    } finally {
      if (fullTimer) clearTimeout(fullTimer)
    }
  }

  /**
   * Starts POSTs for every number with a free slot and something to send: from its local
   * queue first, else claimed now. With `prefetch` (the loop) a claim takes up to batchSize
   * callbacks, so a busy number costs one claim per batch rather than one per callback.
   */
  async #claimPass(full: boolean, prefetch: boolean): Promise<{ done: Promise<void>; count: number }[]> {
    const configs = this.#freshConfigs() ?? await this.#loadConfigs()
    const due = full ? new Set(await this.#store.callbacks.dueNumbers()) : null
    const started: { done: Promise<void>; count: number }[] = []
    if (configs.length === 0) return started
    // a different number goes first each pass
    const offset = this.#rotation++ % configs.length
    for (const config of [...configs.slice(offset), ...configs.slice(0, offset)]) {
      const state = this.#numbers.get(config.id)
      const more = due ? due.has(config.id) : state?.backlog === true
      if (!more && !state?.queue.length) continue
      const settings = config.parsed
      if (!settings.webhooks.url) {
        if (state) this.#writer.release(state.queue.splice(0).map((q) => q.row.seq))
        continue
      }
      const number = this.#state(config.id)
      let slots = config.maxConcurrent - number.inFlight
      if (slots <= 0) continue
      const perPost = eventsPerPost(settings.webhooks)
      this.#dropExpiring(number)
      const need = slots * perPost - number.queue.length
      if (need > 0 && more) {
        const limit = prefetch ? Math.max(need, this.#batchSize - number.queue.length) : need
        const leaseEnd = this.#clock.now() + this.#leaseMs
        const rows = await this.#store.callbacks.claim(config.id, limit, this.#leaseMs, this.owner)
        number.backlog = rows.length === limit
        for (const row of rows) number.queue.push({ row, leaseEnd })
      }
      for (; slots > 0 && number.queue.length > 0; slots--) {
        const batch = number.queue.splice(0, perPost).map((q) => q.row)
        started.push({ done: this.#deliver(config, batch), count: batch.length })
      }
    }
    return started
  }

  /**
   * Queued callbacks whose lease could end mid-request are left to expire (another dispatcher
   * may claim them then); sending them now could deliver them twice.
   */
  #dropExpiring(state: NumberState): void {
    // claims are queued in the order they were made, so their lease ends only grow
    const limit = this.#clock.now() + this.#requestTimeoutMs
    let expiring = 0
    while (expiring < state.queue.length && state.queue[expiring]!.leaseEnd <= limit) expiring++
    if (expiring === 0) return
    state.queue.splice(0, expiring)
    state.backlog = true
  }

  /** The number rows read less than a poll interval ago (reloadConfigs() forgets them). */
  #freshConfigs(): NumberConfig[] | null {
    return this.#configs && performance.now() - this.#configs.at < this.#pollIntervalMs ? this.#configs.rows : null
  }

  async #loadConfigs(): Promise<NumberConfig[]> {
    const at = performance.now()
    const rows = await this.#store.callbacks.deliveryConfigs()
    this.#configs = { at, rows: rows.map((row) => deliveryConfig(row, this.#store, this.#policy, this.#log)) }
    return this.#configs.rows
  }

  #state(id: string): NumberState {
    let state = this.#numbers.get(id)
    if (!state) {
      state = { inFlight: 0, backlog: false, queue: [] }
      this.#numbers.set(id, state)
    }
    return state
  }

  #deliver(config: NumberConfig, rows: ClaimedCallback[]): Promise<void> {
    const state = this.#state(config.id)
    state.inFlight++
    const done: Promise<void> = this.#attempt(config, rows)
      .catch((err: unknown) => {
        // the claim lapses and the callbacks come back: nothing is lost, only delayed
        this.#log.error({ err, phoneNumberId: config.id }, 'webhook delivery crashed; its callbacks return when the lease ends')
      })
      .finally(() => {
        state.inFlight--
        this.#deliveries.delete(done)
        this.#poke()
      })
    this.#deliveries.add(done)
    return done
  }

  async #attempt(config: NumberConfig, rows: ClaimedCallback[]): Promise<void> {
    const settings = config.parsed
    const result = await this.#post(config, rows)
    const seqs = rows.map((r) => r.seq)
    if (result.result === 'aborted') {
      this.#writer.release(seqs)
      return
    }
    const at = this.#clock.now()
    const outcomes = rows.map((row): AttemptOutcome => ({
      seq: row.seq,
      phoneNumberId: config.id,
      at,
      httpStatus: result.httpStatus,
      latencyMs: result.latencyMs,
      error: result.error,
      next: result.httpStatus === 200
        ? { kind: 'done' }
        : nextRetry({ settings, attempts: row.attempts + 1, now: at, since: row.retry_since ?? row.created_at }),
    }))
    this.#metrics.attempt(result.result, rows.length)
    if (result.httpStatus === 200) {
      for (const row of rows) this.#metrics.delivery.observe(Math.max(0, at - row.created_at) / 1000)
      if (this.#log.isLevelEnabled('debug')) this.#log.debug({ phoneNumberId: config.id, seqs, latencyMs: Math.round(result.latencyMs) }, 'webhook delivered')
    } else {
      const first = outcomes[0]?.next
      const log = { phoneNumberId: config.id, url: redactUrl(settings.webhooks.url ?? ''), ...(config.route ? { route: config.route } : {}), seqs, httpStatus: result.httpStatus, error: result.error, attempt: (rows[0]?.attempts ?? 0) + 1 }
      if (result.result === 'refused') this.#log.error(log, `webhook not sent: ${result.error}`)
      else this.#log.warn({ ...log, nextAttemptAt: first?.kind === 'retry' ? first.at : null }, 'webhook delivery failed')
      const dead = outcomes.filter((o) => o.next.kind === 'dead').map((o) => o.seq)
      if (dead.length > 0) this.#log.error({ phoneNumberId: config.id, seqs: dead }, 'callbacks dead-lettered: retry window exhausted (replay them from the API)')
    }
    this.#writer.add(outcomes)
  }

  async #post(config: NumberConfig, rows: ClaimedCallback[]): Promise<DeliveryResult> {
    const settings = config.parsed
    let events: CallbackEvent[]
    try {
      events = rows.map((row) => this.#store.callbacks.event(row))
    } catch (err) {
      // wrong at-rest key: keep retrying, the events are intact and come through once fixed
      return { httpStatus: null, error: `callback payload cannot be opened: ${(err as Error).message}`, result: 'error', latencyMs: 0 }
    }
    const target = config.target
    if (target instanceof WebhookUrlRefused) return { httpStatus: null, error: target.message, result: 'refused', latencyMs: 0 }
    if (!target) return { httpStatus: null, error: 'webhook URL is not configured', result: 'refused', latencyMs: 0 }
    const body = renderPayload(config.shape.format, events, config.shape.number)
    const key = this.#signingKey(config)
    return this.#http.post({
      phoneNumberId: config.id,
      target,
      headers: settings.webhooks.headers,
      ca: config.ca,
      maxConcurrent: config.maxConcurrent,
      body,
      signature: signatureHeader(body, key instanceof Promise ? await key : key),
    })
  }

  /** The key that signs the number's callbacks; unsealed again only when its sealed form changes. */
  #signingKey(config: NumberConfig): KeyObject | Promise<KeyObject> {
    const state = this.#state(config.id)
    const sealed = config.sealedSigningSecret ?? config.sealedSecret
    const cached = state.secret
    if (cached && (cached.sealed === sealed || (sealed && cached.sealed?.equals(sealed)))) {
      cached.sealed = sealed
      return cached.key
    }
    if (!sealed) {
      // first use: generated and sealed by the store; the cached configs catch up later
      return this.#store.callbacks.webhookSecret(config.id).then((secret) => (state.secret = { sealed: null, key: signingKey(secret) }).key)
    }
    state.secret = { sealed, key: signingKey(this.#store.callbacks.openWebhookSecret(sealed)) }
    return state.secret.key
  }

  async #purge(): Promise<void> {
    const now = this.#clock.now()
    if (now - this.#lastPurge < PURGE_EVERY_MS) return
    this.#lastPurge = now
    const purged = await this.#store.callbacks.purgeDelivered(now - this.#retentionMs, PURGE_BATCH)
    if (purged > 0) this.#log.info({ purged }, 'purged delivered callbacks past retention')
  }
}
