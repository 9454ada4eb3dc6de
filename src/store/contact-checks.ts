import type { StoreContext } from './store.js'

export interface CheckJob {
  seq: number
  phoneNumberId: string
  inputs: string[]
  forceCheck: boolean
}

/** The contacts-check cache (in `contacts`) and the queue of checks answered `processing`. */
export class ContactChecks {
  constructor(private readonly ctx: StoreContext) {}

  /** Cached results checked at or after `since`, by wa_id. */
  async cached(phoneNumberId: string, waIds: string[], since: number): Promise<Map<string, 'valid' | 'invalid'>> {
    const out = new Map<string, 'valid' | 'invalid'>()
    const unique = [...new Set(waIds)]
    for (let i = 0; i < unique.length; i += 300) {
      const rows = await this.ctx.db.selectFrom('contacts').select(['wa_id', 'check_status'])
        .where('phone_number_id', '=', phoneNumberId).where('wa_id', 'in', unique.slice(i, i + 300))
        .where('checked_at', '>=', since).where('check_status', 'is not', null).execute()
      for (const r of rows) if (r.check_status === 'valid' || r.check_status === 'invalid') out.set(r.wa_id, r.check_status)
    }
    return out
  }

  async save(phoneNumberId: string, results: { waId: string; status: 'valid' | 'invalid' }[]): Promise<void> {
    const now = this.ctx.clock.now()
    const unique = [...new Map(results.map((r) => [r.waId, r])).values()]
    for (let i = 0; i < unique.length; i += 300) {
      await this.ctx.engine.upsert(this.ctx.db.insertInto('contacts').values(unique.slice(i, i + 300).map((r) => ({
        phone_number_id: phoneNumberId, wa_id: r.waId, check_status: r.status, checked_at: now, identity_acknowledged: 1,
      }))), ['phone_number_id', 'wa_id'], (incoming) => ({
        check_status: incoming('check_status'), checked_at: incoming('checked_at'),
      })).execute()
    }
  }

  async enqueueJob(phoneNumberId: string, inputs: string[], forceCheck: boolean): Promise<void> {
    await this.ctx.db.insertInto('contact_check_jobs').values({
      phone_number_id: phoneNumberId, inputs: JSON.stringify(inputs), force_check: forceCheck ? 1 : 0, created_at: this.ctx.clock.now(),
    }).execute()
  }

  async jobs(phoneNumberId: string, limit: number): Promise<CheckJob[]> {
    const rows = await this.ctx.db.selectFrom('contact_check_jobs').selectAll().where('phone_number_id', '=', phoneNumberId).orderBy('seq').limit(limit).execute()
    return rows.map((r) => ({ seq: r.seq, phoneNumberId: r.phone_number_id, inputs: JSON.parse(r.inputs) as string[], forceCheck: r.force_check === 1 }))
  }

  async deleteJob(seq: number): Promise<void> {
    await this.ctx.db.deleteFrom('contact_check_jobs').where('seq', '=', seq).execute()
  }
}
