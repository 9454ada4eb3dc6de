import type { CallbackEvent } from '../domain/events.js'
import type { StoreContext } from './store.js'

export class Callbacks {
  constructor(private readonly ctx: StoreContext) {}

  /** Queues a callback; call it inside the transaction that made the change it reports. */
  async enqueue(phoneNumberId: string, event: CallbackEvent): Promise<void> {
    await this.enqueueMany(phoneNumberId, [event])
  }

  async enqueueMany(phoneNumberId: string, events: CallbackEvent[]): Promise<void> {
    if (events.length === 0) return
    const now = this.ctx.clock.now()
    await this.ctx.db.insertInto('callbacks').values(events.map((event) => ({
      phone_number_id: phoneNumberId,
      event_type: event.type,
      payload: this.ctx.sealer.sealJson(event),
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      created_at: now,
    }))).execute()
  }

  async pendingCount(phoneNumberId?: string): Promise<number> {
    let q = this.ctx.db.selectFrom('callbacks').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'pending')
    if (phoneNumberId) q = q.where('phone_number_id', '=', phoneNumberId)
    const row = await q.executeTakeFirstOrThrow()
    return Number(row.n)
  }
}
