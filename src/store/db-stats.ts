import type { StoreContext } from './store.js'

export interface DbCounts {
  contacts: { whatsapp_user: number; non_whatsapp_user: number }
  /** Messages by direction and status. */
  messages: { direction: string; status: string; count: number }[]
  messageReceipts: number
  pendingCallbacks: number
  pendingMessages: number
  media: number
}

/** Counts behind `/v1/stats/db`, per number. */
export class DbStats {
  constructor(private readonly ctx: StoreContext) {}

  async counts(phoneNumberId: string): Promise<DbCounts> {
    const db = this.ctx.db
    const contacts = await db.selectFrom('contacts').select(['check_status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('phone_number_id', '=', phoneNumberId).groupBy('check_status').execute()
    const messages = await db.selectFrom('messages').select(['direction', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('phone_number_id', '=', phoneNumberId).groupBy(['direction', 'status']).orderBy('direction').orderBy('status').execute()
    const receipts = await db.selectFrom('message_statuses')
      .innerJoin('messages', 'messages.id', 'message_statuses.message_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('messages.phone_number_id', '=', phoneNumberId).executeTakeFirstOrThrow()
    const callbacks = await db.selectFrom('callbacks').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('phone_number_id', '=', phoneNumberId).where('status', '=', 'pending').executeTakeFirstOrThrow()
    const media = await db.selectFrom('media').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('phone_number_id', '=', phoneNumberId).executeTakeFirstOrThrow()
    const byStatus = (s: string) => Number(contacts.find((c) => c.check_status === s)?.n ?? 0)
    const rows = messages.map((m) => ({ direction: m.direction, status: m.status, count: Number(m.n) }))
    return {
      contacts: { whatsapp_user: byStatus('valid'), non_whatsapp_user: byStatus('invalid') },
      messages: rows,
      messageReceipts: Number(receipts.n),
      pendingCallbacks: Number(callbacks.n),
      pendingMessages: rows.filter((m) => m.direction === 'out' && m.status === 'queued').reduce((a, m) => a + m.count, 0),
      media: Number(media.n),
    }
  }
}
