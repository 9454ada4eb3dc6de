import type { Clock } from '../clock.js'

interface Entry<V> {
  value: Promise<V>
  at: number
}

/**
 * Remembers what `load` answered for a key for `ttlMs` on the injected clock, so a value read on
 * every request costs one query per key per interval. Concurrent misses share one load; `clear()`
 * drops loads still in flight too, so a read that started before a write cannot bring the old
 * value back after the clear that follows the write. An undefined answer (nothing found) and a
 * failure are not kept: what is created meanwhile is found by the next call. At `maxEntries` the
 * cache starts over, so memory stays bounded whatever keys callers send.
 */
export class TtlCache<V> {
  readonly #entries = new Map<string, Entry<V>>()

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly load: (key: string) => Promise<V>,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string): Promise<V> {
    const now = this.clock.now()
    const hit = this.#entries.get(key)
    if (hit && now - hit.at < this.ttlMs) return hit.value
    if (this.#entries.size >= this.maxEntries) this.#entries.clear()
    const entry: Entry<V> = { value: this.load(key), at: now }
    this.#entries.set(key, entry)
    const forget = (): void => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key)
    }
    void entry.value.then((value) => { if (value === undefined) forget() }, forget)
    return entry.value
  }

  /** Forgets every value: the next `get` of each key loads it again. */
  clear(): void {
    this.#entries.clear()
  }
}
