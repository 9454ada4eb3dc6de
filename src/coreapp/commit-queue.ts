import type { Logger } from 'pino'
import { BatchWriter } from '../store/batch-writer.js'
import type { Store } from '../store/store.js'

/**
 * One unit of durable work. `write` may run twice (batch, then alone after a batch failed):
 * keep it idempotent in JS; what it hands to `batch` is discarded with a failed transaction.
 */
export type WriteFn = (tx: Store, batch: CommitBatch) => Promise<void>

/** Rows that the units of one transaction add to, written once after all of them ran. */
export interface SharedWrite {
  flush(tx: Store): Promise<void>
}

/**
 * What the units of one transaction share: checks done once (a lease fence) and rows of
 * many units written by one multi-row statement. Under load a commit carries hundreds of
 * units, and a statement per unit cost more CPU in query building than SQLite spent on them.
 */
export class CommitBatch {
  readonly #once = new Map<string, Promise<void>>()
  readonly #shared = new Map<string, SharedWrite>()

  /** Runs `check` the first time `key` is asked for in this transaction; later asks share its outcome. */
  once(key: string, check: () => Promise<void>): Promise<void> {
    let done = this.#once.get(key)
    if (!done) this.#once.set(key, (done = check()))
    return done
  }

  /** The shared write registered under `key`, made on first use; flushed before the commit. */
  shared<T extends SharedWrite>(key: string, make: () => T): T {
    let write = this.#shared.get(key)
    if (!write) this.#shared.set(key, (write = make()))
    return write as T
  }

  async flush(tx: Store): Promise<void> {
    for (const write of this.#shared.values()) await write.flush(tx)
  }
}

/**
 * The CoreApp's group commit: everything submitted while a transaction runs goes into the
 * next one, so under load one commit carries hundreds of envelopes, inbound messages and
 * status changes. A transaction runs straight through and carries at most 200 writes: in
 * `wabox start` the API thread waits for it before committing accepted messages.
 */
export class CommitQueue {
  readonly #writer: BatchWriter<WriteFn>

  /** `lingerMs`: how long the first item of a batch waits for company (bigger batches, fewer commits). */
  constructor(store: Store, logger: Logger, opts: { maxBatch?: number; lingerMs?: number } = {}) {
    this.#writer = new BatchWriter<WriteFn>(
      (writes) => store.transaction(async (tx) => {
        const batch = new CommitBatch()
        for (const write of writes) await write(tx, batch)
        await batch.flush(tx)
      }),
      {
        maxBatch: opts.maxBatch ?? 200,
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
