import type { Clock } from '../clock.js'

export interface BucketRule {
  /** Tokens added per second. */
  perSecond: number
  /** Bucket size: how many requests may arrive at once. */
  burst: number
}

interface Bucket {
  tokens: number
  at: number
}

/**
 * Token buckets keyed by caller on the injected clock. Idle buckets are dropped once surely full
 * again, so memory follows the number of active callers.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>()
  #lastSweep = 0

  constructor(private readonly clock: Clock) {}

  /** Takes one token; false when the bucket is empty. */
  take(rule: BucketRule, key: string): boolean {
    const now = this.clock.now()
    this.#sweep(now)
    let b = this.#buckets.get(key)
    if (!b) {
      b = { tokens: rule.burst, at: now }
      this.#buckets.set(key, b)
    } else {
      b.tokens = Math.min(rule.burst, b.tokens + ((now - b.at) / 1000) * rule.perSecond)
      b.at = now
    }
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < 60_000) return
    this.#lastSweep = now
    // ten idle minutes refill any sensible bucket, so dropping it changes nothing
    for (const [key, b] of this.#buckets) if (now - b.at > 600_000) this.#buckets.delete(key)
  }
}
