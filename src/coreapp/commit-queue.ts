import type { Logger } from 'pino'
import type { Store } from '../store/store.js'

/** One unit of durable work. `write` may run twice (batch, then alone after a batch failed): keep it idempotent in JS. */
export type WriteFn = (tx: Store) => Promise<void>

interface Pending {
  write: WriteFn
  resolve(): void
  reject(err: unknown): void
}

/**
 * Group commit: everything submitted while a transaction runs goes into the next one, so
 * under load one commit carries hundreds of envelopes, inbound messages and status changes.
 * A failing batch is replayed item by item so one bad item cannot hold the others back.
 */
export class CommitQueue {
  readonly #store: Store
  readonly #logger: Logger
  readonly #maxBatch: number
  #pending: Pending[] = []
  #running: Promise<void> | null = null

  readonly #lingerMs: number

  /** `lingerMs`: how long the first item of a batch waits for company (bigger batches, fewer commits). */
  constructor(store: Store, logger: Logger, opts: { maxBatch?: number; lingerMs?: number } = {}) {
    this.#store = store
    this.#logger = logger
    this.#maxBatch = opts.maxBatch ?? 1000
    this.#lingerMs = opts.lingerMs ?? 5
  }

  /** Resolves once `write` is committed; rejects if its transaction failed. */
  submit(write: WriteFn): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ write, resolve, reject })
      if (!this.#running) this.#running = this.#drain()
    })
  }

  /** Waits until everything submitted so far is committed (or failed). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running
  }

  async #drain(): Promise<void> {
    // let the current burst of submissions join the first batch
    await new Promise<void>((resolve) => (this.#lingerMs > 0 ? setTimeout(resolve, this.#lingerMs) : setImmediate(resolve)))
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, this.#maxBatch)
        await this.#commit(batch)
      }
    } finally {
      this.#running = null
    }
  }

  async #commit(batch: Pending[]): Promise<void> {
    try {
      await this.#store.transaction(async (tx) => {
        for (const item of batch) await item.write(tx)
      })
      for (const item of batch) item.resolve()
      return
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err)
      this.#logger.warn({ err, items: batch.length }, 'group commit failed, retrying items one by one')
    }
    for (const item of batch) {
      try {
        await this.#store.transaction((tx) => item.write(tx))
        item.resolve()
      } catch (err) {
        item.reject(err)
      }
    }
  }
}
