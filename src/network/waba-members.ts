import type { Expression, ExpressionBuilder, SqlBool } from 'kysely'
import type { NetworkDb } from './database.js'
import type { NetworkDatabase } from './schema.js'
import type { WriteBatcher } from './write-batcher.js'

type TemplatesWhere = ExpressionBuilder<NetworkDatabase, 'templates'>

/**
 * Which WhatsApp Business Account each business number belongs to: templates belong to a WABA
 * and every number of it sends them, as on Meta's side. The business's CoreApp names the
 * number's WABA with each template request (its store is the Business Manager), so a number
 * added or moved later follows. Kept in the network's database (0004).
 */
export class WabaMembers {
  readonly #of = new Map<string, string>()

  static async load(db: NetworkDb): Promise<WabaMembers> {
    const members = new WabaMembers()
    for (const row of await db.selectFrom('waba_members').selectAll().execute()) members.#of.set(row.wa_id, row.waba)
    return members
  }

  /** The number's WABA, or undefined. */
  of(waId: string): string | undefined {
    return this.#of.get(waId)
  }

  /** Puts the number in `waba` (undefined: in none); writes only a change. */
  async set(batcher: WriteBatcher, waId: string, waba: string | undefined): Promise<void> {
    if (this.#of.get(waId) === waba) return
    await batcher.run(async (trx) => {
      if (waba === undefined) await trx.deleteFrom('waba_members').where('wa_id', '=', waId).execute()
      else await trx.insertInto('waba_members').values({ wa_id: waId, waba }).onConflict((oc) => oc.column('wa_id').doUpdateSet({ waba })).execute()
    })
    if (waba === undefined) this.#of.delete(waId)
    else this.#of.set(waId, waba)
  }

  /**
   * The templates the number reaches: its WABA's, and those made through the WABA's numbers
   * before WABAs were kept (no `waba`); without a WABA, those made through it alone.
   */
  reachable(waId: string): (eb: TemplatesWhere) => Expression<SqlBool> {
    const waba = this.#of.get(waId)
    if (waba === undefined) return (eb) => eb.and([eb('wa_id', '=', waId), eb('waba', 'is', null)])
    const members = this.#membersOf(waba)
    return (eb) => eb.or([eb('waba', '=', waba), eb.and([eb('waba', 'is', null), eb('wa_id', 'in', members)])])
  }

  /** Whether the number reaches the template (as `reachable`). */
  reaches(waId: string, row: { wa_id: string; waba: string | null }): boolean {
    const waba = this.#of.get(waId)
    if (waba === undefined) return row.wa_id === waId && row.waba === null
    return row.waba === waba || (row.waba === null && this.#of.get(row.wa_id) === waba)
  }

  #membersOf(waba: string): string[] {
    return [...this.#of].filter(([, b]) => b === waba).map(([w]) => w)
  }
}
