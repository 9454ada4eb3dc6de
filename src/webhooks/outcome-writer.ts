import type pino from 'pino'
import type { AttemptOutcome } from '../store/callbacks.js'
import type { Store } from '../store/store.js'

/** Fewer, larger transactions: at 2,000 callbacks/s one commit carries ~100 outcomes. */
const FLUSH_DELAY_MS = 50
const FLUSH_RETRY_MS = 1000

/**
 * Group commit for attempt outcomes and released claims: whatever finishes within a few
 * milliseconds shares one transaction. Delaying the write costs nothing but bookkeeping
 * latency (the receiver already has its callbacks), and a crash before it only means the
 * claim lapses and the callbacks are sent again: at-least-once either way.
 */
export class OutcomeWriter {
  #outcomes: AttemptOutcome[] = []
  #releases: number[] = []
  #scheduled = false
  #flushing: Promise<void> | null = null
  #closed = false

  constructor(
    private readonly store: Store,
    private readonly owner: string,
    private readonly log: pino.Logger,
    /** Called after attempts were written (the Hub shows them as they happen). */
    private readonly onRecorded: () => void = () => {},
  ) {}

  add(outcomes: readonly AttemptOutcome[]): void {
    this.#outcomes.push(...outcomes)
    this.#schedule()
  }

  /** Claims given back unattempted: due again at once. */
  release(seqs: readonly number[]): void {
    if (seqs.length === 0) return
    this.#releases.push(...seqs)
    this.#schedule()
  }

  /** Writes everything buffered now; on failure keeps it and, unless closed, retries later. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing
    if (this.#outcomes.length === 0 && this.#releases.length === 0) return
    const outcomes = this.#outcomes.splice(0)
    const releases = this.#releases.splice(0)
    this.#flushing = this.store.transaction(async (tx) => {
      await tx.callbacks.record(outcomes, this.owner)
      await tx.callbacks.release(releases, this.owner)
    }).then(() => {
      if (outcomes.length > 0) this.onRecorded()
    }, (err: unknown) => {
      this.log.error({ err, outcomes: outcomes.length }, 'recording webhook outcomes failed; retrying')
      this.#outcomes.unshift(...outcomes)
      this.#releases.unshift(...releases)
      if (!this.#closed) setTimeout(() => this.#schedule(), FLUSH_RETRY_MS).unref()
    }).finally(() => {
      this.#flushing = null
    })
    await this.#flushing
  }

  /** Final flush; no retries after it. */
  async close(): Promise<void> {
    this.#closed = true
    await this.flush()
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    setTimeout(() => {
      this.#scheduled = false
      void this.flush()
    }, FLUSH_DELAY_MS)
  }
}
