import type { NetworkDb } from './database.js'
import type { WriteBatcher } from './write-batcher.js'

/**
 * Business portfolios: since October 2025 Meta keeps the messaging limit per portfolio, shared
 * by all its numbers. A number outside any portfolio is a portfolio of its own. Set by the
 * operator (control API); kept in the network's database (0003).
 */
export class Portfolios {
  readonly #of = new Map<string, string>()

  static async load(db: NetworkDb): Promise<Portfolios> {
    const portfolios = new Portfolios()
    for (const row of await db.selectFrom('portfolios').selectAll().execute()) portfolios.#of.set(row.wa_id, row.portfolio)
    return portfolios
  }

  /** The number's portfolio, or null when it has none. */
  of(waId: string): string | null {
    return this.#of.get(waId) ?? null
  }

  /** The key the number's shared limit is kept under: its portfolio, else the number itself. */
  keyOf(waId: string): string {
    const portfolio = this.#of.get(waId)
    return portfolio === undefined ? waId : `portfolio\0${portfolio}`
  }

  /** The numbers sharing the number's limit, itself first. */
  membersOf(waId: string): string[] {
    const portfolio = this.#of.get(waId)
    if (portfolio === undefined) return [waId]
    return [waId, ...[...this.#of].filter(([w, p]) => p === portfolio && w !== waId).map(([w]) => w)]
  }

  /** Puts the number in `portfolio`, or with null in none. */
  async set(batcher: WriteBatcher, waId: string, portfolio: string | null): Promise<void> {
    await batcher.run(async (trx) => {
      if (portfolio === null) await trx.deleteFrom('portfolios').where('wa_id', '=', waId).execute()
      else await trx.insertInto('portfolios').values({ wa_id: waId, portfolio }).onConflict((oc) => oc.column('wa_id').doUpdateSet({ portfolio })).execute()
    })
    if (portfolio === null) this.#of.delete(waId)
    else this.#of.set(waId, portfolio)
  }
}
