import { isDatabaseUnavailable } from '../errors/index.js'

interface Pending<T> {
  item: T
  resolve(): void
  reject(err: unknown): void
}

export interface BatchWriterOptions {
  /** Most items written together. */
  maxBatch: number
  /** How long the first item of a batch waits for company; 0 = the rest of this event-loop turn. */
  lingerMs?: number
  /** A batch failed and is being replayed item by item. */
  onBatchFailed?(err: unknown, items: number): void
}

/**
 * Group commit: items added while a batch is written go into the next one, and `add`
 * resolves only once its item's batch is durable. A failing batch is replayed item by item,
 * so one bad item fails only its own caller. `write` must therefore be safe to run again for
 * the items of a failed batch (it was rolled back). A batch the database did not answer fails
 * whole: each item alone would wait out the same bound again, keeping callers for minutes.
 */
export class BatchWriter<T> {
  readonly #write: (items: T[]) => Promise<void>
  readonly #opts: BatchWriterOptions
  #pending: Pending<T>[] = []
  #running: Promise<void> | null = null

  constructor(write: (items: T[]) => Promise<void>, opts: BatchWriterOptions) {
    this.#write = write
    this.#opts = opts
  }

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject })
      if (!this.#running) this.#running = this.#drain()
    })
  }

  /** Waits until everything added so far is written (or failed). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running
  }

  async #drain(): Promise<void> {
    const linger = this.#opts.lingerMs ?? 0
    await new Promise<void>((resolve) => (linger > 0 ? setTimeout(resolve, linger) : setImmediate(resolve)))
    try {
      while (this.#pending.length > 0) await this.#commit(this.#pending.splice(0, this.#opts.maxBatch))
    } finally {
      this.#running = null
    }
  }

  async #commit(batch: Pending<T>[]): Promise<void> {
    try {
      await this.#write(batch.map((p) => p.item))
      for (const p of batch) p.resolve()
      return
    } catch (err) {
      if (batch.length === 1 || isDatabaseUnavailable(err)) {
        for (const p of batch) p.reject(err)
        return
      }
      this.#opts.onBatchFailed?.(err, batch.length)
    }
    for (const p of batch) {
      try {
        await this.#write([p.item])
        p.resolve()
      } catch (err) {
        p.reject(err)
      }
    }
  }
}
