import { performance } from 'node:perf_hooks'
import type { NetworkClient } from '../wire/client.js'
import type { TemplatesGetResult } from '../wire/frames.js'

/**
 * The number's template pack from the network (`templates.get`): its WABA's templates, cached
 * per number and refreshed after `maxAgeMs` (monotonic time: freshness, not a business timestamp).
 */
export class TemplatePacks {
  readonly #maxAgeMs: number
  readonly #packs = new Map<string, { pack: Promise<TemplatesGetResult>; at: number }>()

  constructor(maxAgeMs: number) {
    this.#maxAgeMs = maxAgeMs
  }

  /**
   * The cached pack unless older than `maxAgeMs` (or `fresh`); concurrent callers share one fetch.
   * `waba` reads the number's WABA as it is now, which the request names (a number moves).
   */
  get(phoneNumberId: string, client: NetworkClient, opts: { fresh?: boolean; waba?: () => Promise<string | null> } = {}): Promise<TemplatesGetResult> {
    const cached = this.#packs.get(phoneNumberId)
    const now = performance.now()
    if (cached && !opts.fresh && now - cached.at <= this.#maxAgeMs) return cached.pack
    const pack = (opts.waba?.() ?? Promise.resolve(null))
      .then((waba) => client.request<TemplatesGetResult>({ t: 'templates.get', ...(waba ? { waba } : {}) }))
    const entry = { pack, at: now }
    this.#packs.set(phoneNumberId, entry)
    pack.catch(() => {
      if (this.#packs.get(phoneNumberId) === entry) this.#packs.delete(phoneNumberId)
    })
    return pack
  }

  /** Age of the cached pack in ms, or undefined. */
  age(phoneNumberId: string): number | undefined {
    const cached = this.#packs.get(phoneNumberId)
    return cached && performance.now() - cached.at
  }

  /** Every number's: a template change reaches the one number it was made through, and its WABA shares it. */
  clear(): void {
    this.#packs.clear()
  }
}
