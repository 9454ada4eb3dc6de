import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import { isPlatformType } from '../domain/hosting.js'
import { retentionMs } from '../domain/retention.js'
import type { MediaVolume } from '../media/volume.js'
import { RetentionRecords } from '../store/retention.js'
import type { MediaRow, PhoneNumberRow } from '../store/schema.js'
import type { Store } from '../store/store.js'

export interface HousekeeperOptions {
  store: Store
  media: MediaVolume
  clock: Clock
  logger: Logger
  /** Time between passes; default 5 minutes. */
  intervalMs?: number
  /** Age at which inbound messages of a number with `db_garbagecollector_enable` go; default 7 days (onprem-api.md §2.3). */
  inboundRetentionMs?: number
  /** Rows per delete statement, so one pass never holds a long transaction. */
  batchSize?: number
}

/** What one pass removed. */
export interface HousekeepingReport {
  tokens: number
  media: number
  inbound: number
  /** Messages whose content retention removed (the rows stay). */
  content: number
  /** Delivered callbacks past retention, deleted. */
  callbacks: number
}

export const DEFAULT_HOUSEKEEPING_INTERVAL_MS = 5 * 60 * 1000
export const INBOUND_RETENTION_MS = 7 * 24 * 60 * 60 * 1000

/**
 * Periodic cleanup: expired bearer tokens, expired media (row and sealed file), inbound
 * messages past retention for numbers that enabled the garbage collector, and each number's
 * retention (message content, media, delivered callbacks older than its `retention_days`).
 * Deletes are idempotent, so several processes may run one each.
 */
export class Housekeeper {
  readonly #opts: HousekeeperOptions
  readonly #intervalMs: number
  readonly #batch: number
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> | undefined
  #stopped = true

  constructor(opts: HousekeeperOptions) {
    this.#opts = opts
    this.#intervalMs = opts.intervalMs ?? DEFAULT_HOUSEKEEPING_INTERVAL_MS
    this.#batch = opts.batchSize ?? 500
  }

  start(): void {
    if (!this.#stopped) return
    this.#stopped = false
    this.#schedule()
  }

  /** Stops the timer and waits for a pass under way. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running?.catch(() => undefined)
  }

  /** One full pass; a pass already under way is awaited first rather than run twice at once. */
  async runOnce(): Promise<HousekeepingReport> {
    while (this.#running) await this.#running.catch(() => undefined)
    const pass = this.#pass()
    this.#running = pass
    try {
      return await pass
    } finally {
      this.#running = undefined
    }
  }

  #schedule(): void {
    if (this.#stopped) return
    // unref'd: housekeeping never keeps the process alive
    this.#timer = setTimeout(() => {
      this.runOnce().then(
        (report) => {
          if (Object.values(report).some((n) => n > 0)) this.#opts.logger.info(report, 'housekeeping')
        },
        (err: unknown) => this.#opts.logger.error({ err }, 'housekeeping failed'),
      ).finally(() => this.#schedule())
    }, this.#intervalMs)
    this.#timer.unref()
  }

  async #pass(): Promise<HousekeepingReport> {
    const tokens = await this.#opts.store.users.purgeExpiredTokens()
    let media = await this.#purgeMedia(() => this.#opts.store.media.expired(this.#batch))
    const inbound = await this.#purgeInbound()
    let content = 0
    let callbacks = 0
    const retention = new RetentionRecords(this.#opts.store.ctx)
    for (const number of await this.#opts.store.numbers.list()) {
      const before = this.#opts.clock.now() - this.#retentionMs(number)
      content += await retention.purgeMessageContent(number.id, before, this.#batch)
      callbacks += await this.#drain(() => this.#opts.store.callbacks.purgeDelivered(before, this.#batch, number.id))
      media += await this.#purgeMedia(() => retention.expiredMedia(number.id, before, this.#batch))
    }
    return { tokens, media, inbound, content, callbacks }
  }

  #retentionMs(number: PhoneNumberRow): number {
    const days = this.#opts.store.numbers.settings(number).retention_days
    return retentionMs(days, isPlatformType(number.platform_type) ? number.platform_type : 'ON_PREMISE')
  }

  /** Repeats a bounded batch until one comes back short. */
  async #drain(batch: () => Promise<number>): Promise<number> {
    let total = 0
    for (;;) {
      const n = await batch()
      total += n
      if (n < this.#batch) return total
    }
  }

  async #purgeMedia(next: () => Promise<MediaRow[]>): Promise<number> {
    const { media, logger } = this.#opts
    let deleted = 0
    for (;;) {
      const rows = await next()
      let progress = 0
      for (const row of rows) {
        try {
          if (await media.delete(row.id)) progress++
        } catch (err) {
          logger.warn({ err, mediaId: row.id }, 'deleting expired media failed')
        }
      }
      deleted += progress
      // a batch that could not be deleted must not spin forever
      if (rows.length < this.#batch || progress === 0) return deleted
    }
  }

  async #purgeInbound(): Promise<number> {
    const { store, clock } = this.#opts
    const retention = this.#opts.inboundRetentionMs ?? INBOUND_RETENTION_MS
    let deleted = 0
    for (const number of await store.numbers.list()) {
      if (!store.numbers.settings(number).db_garbagecollector_enable) continue
      const before = clock.now() - retention
      deleted += await this.#drain(() => store.transaction((tx) => tx.inbound.purgeReceivedBefore(number.id, before, this.#batch)))
    }
    return deleted
  }
}
