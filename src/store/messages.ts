import type { MessageRow } from './schema.js'
import type { StoreContext } from './store.js'
import { sealContent, withResolved } from './region-content.js'
import { insertRows } from './compiled-statements.js'

export interface OutboundMessage {
  id: string
  phoneNumberId: string
  to: string
  type: string
  /** The validated request body; sealed at rest. */
  content: unknown
  shard: number
  category?: string | null
  expiresAt?: number | null
}

const OUTBOUND_TYPES = {
  id: 'text', phone_number_id: 'text', direction: 'text', peer: 'text', type: 'text', content: 'bytea', callback_data: 'bytea', status: 'text',
  shard: 'integer', error: 'text', category: 'text', conversation_id: 'text', expires_at: 'bigint', created_at: 'bigint', updated_at: 'bigint',
} as const

export class Messages {
  constructor(private readonly ctx: StoreContext) {}

  /**
   * Persists accepted outbound messages as `queued`; the CoreApp picks them up from here. One
   * statement where the engine inserts any number of rows at once (`insertsInOneStatement`),
   * so the intake needs no transaction around it there.
   */
  async insertOutbound(messages: OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return
    const now = this.ctx.clock.now()
    // what statuses echo: the opaque data, and the user id the send addressed (BSUID)
    const echoes = messages.map((m) => {
      const { biz_opaque_callback_data: opaque, recipient } = m.content as { biz_opaque_callback_data?: string; recipient?: string }
      return opaque === undefined && recipient === undefined ? null : { biz_opaque_callback_data: opaque, recipient }
    })
    const sealed = await sealContent(this.ctx, messages.flatMap((m, i) => [
      { phoneNumberId: m.phoneNumberId, kind: 'content' as const, key: m.id, value: m.content },
      ...(echoes[i] ? [{ phoneNumberId: m.phoneNumberId, kind: 'callback_data' as const, key: `${m.id}:echo`, value: echoes[i] }] : []),
    ]))
    let next = 0
    const rows = messages.map((m, i) => ({
      id: m.id,
      phone_number_id: m.phoneNumberId,
      direction: 'out',
      peer: m.to,
      type: m.type,
      content: sealed[next++]!,
      callback_data: echoes[i] ? sealed[next++]! : null,
      status: 'queued',
      shard: m.shard,
      error: null,
      category: m.category ?? null,
      conversation_id: null,
      expires_at: m.expiresAt ?? null,
      created_at: now,
      updated_at: now,
    }))
    await insertRows(this.ctx.db, this.ctx.engine.name, 'insertOutbound', rows, OUTBOUND_TYPES, {
      table: 'messages', max: 128, build: (r) => this.ctx.db.insertInto('messages').values([...r]),
    })
  }

  async get(id: string): Promise<MessageRow | undefined> {
    const row = await this.ctx.db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst()
    return row && (await withResolved(this.ctx, [row], 'content', 'callback_data'))[0]
  }

  content<T>(row: MessageRow): T {
    return this.ctx.sealer.openJson<T>(row.content)
  }
}
