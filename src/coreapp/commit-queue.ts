import type { Logger } from 'pino'
import { BatchWriter } from '../store/batch-writer.js'
import type { Store } from '../store/store.js'

/** One unit of durable work. `write` may run twice (batch, then alone after a batch failed): keep it idempotent in JS. */
export type WriteFn = (tx: Store) => Promise<void>

const YIELD_EVERY = 25

/**
 * The CoreApp's group commit: everything submitted while a transaction runs goes into the
 * next one, so under load one commit carries hundreds of envelopes, inbound messages and
 * status changes.
 */
export class CommitQueue {
  readonly #writer: BatchWriter<WriteFn>

  /** `lingerMs`: how long the first item of a batch waits for company (bigger batches, fewer commits). */
  constructor(store: Store, logger: Logger, opts: { maxBatch?: number; lingerMs?: number } = {}) {
    this.#writer = new BatchWriter<WriteFn>(
      (writes) => store.transaction(async (tx) => {
        for (let i = 0; i < writes.length; i++) {
          // SQLite runs synchronously: let socket I/O through now and then during a long commit
          if (i > 0 && i % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve))
          await writes[i]!(tx)
        }
      }),
      {
        maxBatch: opts.maxBatch ?? 1000,
        lingerMs: opts.lingerMs ?? 5,
        onBatchFailed: (err, items) => logger.warn({ err, items }, 'group commit failed, retrying items one by one'),
      },
    )
  }

  /** Resolves once `write` is committed; rejects if its transaction failed. */
  submit(write: WriteFn): Promise<void> {
    return this.#writer.add(write)
  }

  /** Waits until everything submitted so far is committed (or failed). */
  idle(): Promise<void> {
    return this.#writer.idle()
  }
}
