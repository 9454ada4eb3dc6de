import { sealContent } from './region-content.js'
import type { StoreContext } from './store.js'

export interface InboundRecord {
  phoneNumberId: string
  envelopeId: string
  messageId: string
  peer: string
  shard: number
  type: string
  /** The On-Prem inbound message object; sealed at rest. */
  message: unknown
  receivedAt: number
}

/** How long before its callback an inbound message may have been stamped (same transaction). */
const PENDING_CALLBACK_MARGIN_MS = 60_000

/** The inbound side: envelope dedup and received messages. */
export class Inbound {
  constructor(private readonly ctx: StoreContext) {}

  /** Envelope ids among `envelopeIds` that were already persisted. */
  async seen(phoneNumberId: string, envelopeIds: string[]): Promise<Set<string>> {
    const out = new Set<string>()
    for (let i = 0; i < envelopeIds.length; i += 300) {
      const rows = await this.ctx.db.selectFrom('inbound_envelopes').select('envelope_id')
        .where('phone_number_id', '=', phoneNumberId).where('envelope_id', 'in', envelopeIds.slice(i, i + 300)).execute()
      for (const r of rows) out.add(r.envelope_id)
    }
    return out
  }

  /** Persists received messages with their envelope ids; call inside the transaction that enqueues callbacks. */
  async persist(records: InboundRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += 200) {
      const part = records.slice(i, i + 200)
      const sealed = await sealContent(this.ctx, part.map((r) => ({ phoneNumberId: r.phoneNumberId, kind: 'content' as const, key: r.messageId, value: r.message })))
      await this.ctx.db.insertInto('inbound_envelopes').values(part.map((r) => ({
        phone_number_id: r.phoneNumberId, envelope_id: r.envelopeId, message_id: r.messageId, peer: r.peer, received_at: r.receivedAt,
      }))).execute()
      await this.ctx.engine.insertIgnore(this.ctx.db.insertInto('messages').values(part.map((r, j) => ({
        id: r.messageId, phone_number_id: r.phoneNumberId, direction: 'in', peer: r.peer, type: r.type,
        content: sealed[j]!, status: 'received', shard: r.shard, error: null, category: null,
        conversation_id: null, expires_at: null, created_at: r.receivedAt, updated_at: r.receivedAt,
      }))), ['id']).execute()
    }
  }

  /** The envelope an inbound message arrived in, to address a read receipt. */
  async envelopeOf(phoneNumberId: string, messageId: string): Promise<{ envelopeId: string; peer: string } | undefined> {
    const row = await this.ctx.db.selectFrom('inbound_envelopes').select(['envelope_id', 'peer'])
      .where('phone_number_id', '=', phoneNumberId).where('message_id', '=', messageId).executeTakeFirst()
    return row && { envelopeId: row.envelope_id, peer: row.peer }
  }

  async markRead(messageId: string): Promise<void> {
    await this.ctx.db.updateTable('messages').set({ status: 'read', updated_at: this.ctx.clock.now() })
      .where('id', '=', messageId).where('direction', '=', 'in').execute()
  }

  /**
   * Garbage collection (onprem-api.md §2.3, §12): deletes up to `limit` inbound messages of a
   * number received before `before`, with their envelope and status rows; returns how many.
   * Keeps everything from shortly before the number's oldest pending callback on: an inbound
   * message and its callback are written in one transaction, moments apart. Outbound messages
   * are never touched. Run inside `store.transaction`.
   */
  async purgeReceivedBefore(phoneNumberId: string, before: number, limit = 500): Promise<number> {
    const pending = await this.ctx.db.selectFrom('callbacks').select((eb) => eb.fn.min('created_at').as('oldest'))
      .where('phone_number_id', '=', phoneNumberId).where('status', '=', 'pending').executeTakeFirst()
    const oldest = pending?.oldest === null || pending?.oldest === undefined ? undefined : Number(pending.oldest)
    const cutoff = oldest === undefined ? before : Math.min(before, oldest - PENDING_CALLBACK_MARGIN_MS)
    const rows = await this.ctx.db.selectFrom('messages').select('id')
      .where('phone_number_id', '=', phoneNumberId).where('direction', '=', 'in').where('created_at', '<', cutoff)
      .orderBy('seq').limit(limit).execute()
    if (rows.length === 0) return 0
    const ids = rows.map((r) => r.id)
    await this.ctx.db.deleteFrom('inbound_envelopes').where('phone_number_id', '=', phoneNumberId).where('message_id', 'in', ids).execute()
    await this.ctx.db.deleteFrom('message_statuses').where('message_id', 'in', ids).execute()
    await this.ctx.db.deleteFrom('messages').where('phone_number_id', '=', phoneNumberId).where('direction', '=', 'in').where('id', 'in', ids).execute()
    return ids.length
  }

  async count(phoneNumberId: string): Promise<number> {
    const row = await this.ctx.db.selectFrom('inbound_envelopes').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('phone_number_id', '=', phoneNumberId).executeTakeFirstOrThrow()
    return Number(row.n)
  }
}
