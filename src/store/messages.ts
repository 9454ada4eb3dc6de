import type { MessageRow } from './schema.js'
import type { StoreContext } from './store.js'
import { statementChunks } from './statement-chunks.js'

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

export class Messages {
  constructor(private readonly ctx: StoreContext) {}

  /** Persists an accepted outbound message as `queued`; the CoreApp picks it up from here. */
  async insertOutbound(messages: OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return
    const now = this.ctx.clock.now()
    for (const part of statementChunks(messages, 128)) await this.#insert(part, now)
  }

  async #insert(messages: OutboundMessage[], now: number): Promise<void> {
    await this.ctx.db.insertInto('messages').values(messages.map((m) => {
      const { biz_opaque_callback_data: opaque, recipient } = m.content as { biz_opaque_callback_data?: string; recipient?: string }
      return {
        id: m.id,
        phone_number_id: m.phoneNumberId,
        direction: 'out',
        peer: m.to,
        type: m.type,
        content: this.ctx.sealer.sealJson(m.content),
        // what statuses echo: the opaque data, and the user id the send addressed (BSUID)
        callback_data: opaque === undefined && recipient === undefined ? null : this.ctx.sealer.sealJson({ biz_opaque_callback_data: opaque, recipient }),
        status: 'queued',
        shard: m.shard,
        error: null,
        category: m.category ?? null,
        conversation_id: null,
        expires_at: m.expiresAt ?? null,
        created_at: now,
        updated_at: now,
      }
    })).execute()
  }

  get(id: string): Promise<MessageRow | undefined> {
    return this.ctx.db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst()
  }

  content<T>(row: MessageRow): T {
    return this.ctx.sealer.openJson<T>(row.content)
  }
}
