import type { Clock } from '../clock.js'

/** Clients resend within seconds of reconnecting (backoff ≤ 5 s); this is plenty. */
const TTL_MS = 5 * 60 * 1000
/** Receipts go through here (several per message): bound the memory, evicting the oldest. */
const MAX_ENTRIES = 100_000

/**
 * Answers a retried request id with the first answer (also while the first attempt is
 * still running). Keys include the principal, since retries arrive on a new connection.
 * Failures are forgotten so that a retry can succeed.
 */
export class RequestMemo {
  readonly #clock: Clock
  readonly #entries = new Map<string, { at: number; result: Promise<unknown> }>()

  constructor(clock: Clock) {
    this.#clock = clock
  }

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const hit = this.#entries.get(key)
    if (hit) return hit.result as Promise<T>
    const result = work()
    this.#entries.set(key, { at: this.#clock.now(), result })
    if (this.#entries.size > MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!)
    result.catch(() => {
      if (this.#entries.get(key)?.result === result) this.#entries.delete(key)
    })
    return result
  }

  sweep(): void {
    const cutoff = this.#clock.now() - TTL_MS
    for (const [key, entry] of this.#entries) if (entry.at <= cutoff) this.#entries.delete(key)
  }
}
