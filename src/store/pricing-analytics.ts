import type { StoreContext } from './store.js'

export interface DailyVolume {
  /** Start of the day (ms, UTC). */
  day: number
  category: string
  volume: number
}

const DAY = 24 * 60 * 60 * 1000

/**
 * What per-message pricing counts: business messages delivered, by day and category. One
 * grouped count a day keeps the query the same on every engine (no date functions).
 */
export class PricingAnalytics {
  constructor(private readonly ctx: StoreContext) {}

  /** Delivered outbound messages of the numbers per UTC day in [start, end), by category; days without any are left out. */
  async deliveredByDay(phoneNumberIds: readonly string[], start: number, end: number): Promise<DailyVolume[]> {
    if (phoneNumberIds.length === 0) return []
    const out: DailyVolume[] = []
    for (let day = start - (start % DAY); day < end; day += DAY) {
      const rows = await this.ctx.db.selectFrom('message_statuses as s')
        .innerJoin('messages as m', 'm.id', 's.message_id')
        .select(['m.category', (eb) => eb.fn.countAll<number>().as('n')])
        .where('s.status', '=', 'delivered').where('s.at', '>=', Math.max(day, start)).where('s.at', '<', Math.min(day + DAY, end))
        .where('m.direction', '=', 'out').where('m.phone_number_id', 'in', [...phoneNumberIds])
        .groupBy('m.category').orderBy('m.category').execute()
      // messages stored before a category was kept count as service
      const byCategory = new Map<string, number>()
      for (const r of rows) byCategory.set(r.category ?? 'service', (byCategory.get(r.category ?? 'service') ?? 0) + Number(r.n))
      for (const [category, volume] of byCategory) out.push({ day, category, volume })
    }
    return out
  }
}
