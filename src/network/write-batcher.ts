import type { Transaction } from 'kysely'
import type { Logger } from 'pino'
import type { NetworkDb } from './database.js'
import type { NetworkDatabase } from './schema.js'
import { WireFailure } from './wire-failure.js'

export type Trx = Transaction<NetworkDatabase>
/** A unit of write work. It must only await the database (anything else would hold the transaction open). */
export type Work<T> = (trx: Trx, parts: BatchParts) => Promise<T>

/**
 * Writes that the jobs of one transaction gather so that each kind is one statement, not one
 * per job. A job that throws a WireFailure must not have added anything (it throws first).
 */
export interface BatchPart {
  /** Makes the gathered writes. Runs after the last job, before COMMIT; a throw aborts the batch. */
  flush(trx: Trx): Promise<void>
  /** After COMMIT, before the jobs are answered. */
  committed(): void
}

/** One transaction's parts, each made on first use. */
export class BatchParts {
  readonly #parts = new Map<object, BatchPart>()

  part<P extends BatchPart>(owner: object, create: () => P): P {
    let part = this.#parts.get(owner)
    if (!part) this.#parts.set(owner, (part = create()))
    return part as P
  }

  async flush(trx: Trx): Promise<void> {
    for (const part of this.#parts.values()) await part.flush(trx)
  }

  committed(): void {
    for (const part of this.#parts.values()) part.committed()
  }
}

/** Runs for every job of a batch before the first one: a job announces what it will read, so a part can read it for all at once. */
export type Prepare = (parts: BatchParts) => void

interface Job {
  work: Work<unknown>
  prepare: Prepare | undefined
  resolve(value: unknown): void
  reject(err: unknown): void
}

/** Work refused because the server is closing; not answered, so the client resends it after reconnecting. */
export class ServerClosing extends Error {
  override name = 'ServerClosing'
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: WireFailure }

const MAX_BATCH = 500

/**
 * Group commit: every write submitted during one event-loop turn runs in one transaction,
 * so one fsync covers a whole batch. Callers are answered only after the commit, in
 * submission order. A WireFailure rejects just its own job; any other error (a job's or a
 * part's flush) aborts the batch, which is then retried job by job so one bad job cannot
 * sink its neighbours. Jobs may share statements through the transaction's BatchParts.
 */
export class WriteBatcher {
  readonly #db: NetworkDb
  readonly #logger: Logger
  #queue: Job[] = []
  #scheduled = false
  #running: Promise<void> | undefined
  #closed = false

  constructor(db: NetworkDb, logger: Logger) {
    this.#db = db
    this.#logger = logger
  }

  run<T>(work: Work<T>, prepare?: Prepare): Promise<T> {
    if (this.#closed) return Promise.reject(new ServerClosing('server is shutting down'))
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, prepare, resolve: resolve as (value: unknown) => void, reject })
      this.#schedule()
    })
  }

  /** Stops taking work and waits until everything submitted so far is committed. */
  async close(): Promise<void> {
    this.#closed = true
    while (this.#running || this.#queue.length > 0) {
      if (!this.#running) this.#running = this.#drain()
      await this.#running
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#running) return
    this.#scheduled = true
    // setImmediate runs after the I/O callbacks of this turn: all frames read in it join the batch.
    setImmediate(() => {
      this.#scheduled = false
      if (!this.#running) this.#running = this.#drain()
    })
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#commit(this.#queue.splice(0, MAX_BATCH))
    } finally {
      this.#running = undefined
      // Jobs submitted by callbacks of the last commit, after the loop looked, still need a turn.
      if (this.#queue.length > 0) this.#schedule()
    }
  }

  async #commit(batch: Job[]): Promise<void> {
    let outcomes: Outcome[]
    const parts = new BatchParts()
    try {
      outcomes = await this.#db.transaction().execute(async (trx) => {
        for (const job of batch) job.prepare?.(parts)
        const done: Outcome[] = []
        for (const job of batch) {
          try {
            done.push({ ok: true, value: await job.work(trx, parts) })
          } catch (err) {
            if (!(err instanceof WireFailure)) throw err
            done.push({ ok: false, error: err })
          }
        }
        await parts.flush(trx)
        return done
      })
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err)
      this.#logger.warn({ err, jobs: batch.length }, 'write batch failed, retrying its jobs one by one')
      for (const job of batch) await this.#commit([job])
      return
    }
    try {
      parts.committed()
    } catch (err) {
      // Committed all the same: the jobs are still answered.
      this.#logger.error({ err }, 'after-commit step of a write batch failed')
    }
    outcomes.forEach((outcome, i) => {
      const job = batch[i]!
      if (outcome.ok) job.resolve(outcome.value)
      else job.reject(outcome.error)
    })
  }
}
