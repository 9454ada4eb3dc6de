import type { StoreContext } from './store.js'
import { statementChunks } from './statement-chunks.js'

export interface PendingReceipt {
  seq: number
  phoneNumberId: string
  peer: string
  shard: number
  kind: 'delivered' | 'read'
  envelopeId: string
}

/** Durable queue of receipts owed to phones (delivered after persisting, read on request). */
export class Receipts {
  constructor(private readonly ctx: StoreContext) {}

  async enqueue(rows: Omit<PendingReceipt, 'seq'>[]): Promise<void> {
    if (rows.length === 0) return
    const now = this.ctx.clock.now()
    await this.ctx.db.insertInto('receipt_outbox').values(rows.map((r) => ({
      phone_number_id: r.phoneNumberId, peer: r.peer, shard: r.shard, kind: r.kind, envelope_id: r.envelopeId, created_at: now,
    }))).execute()
  }

  async pending(phoneNumberId: string, shards: number[], limit: number): Promise<PendingReceipt[]> {
    if (shards.length === 0) return []
    const rows = await this.ctx.db.selectFrom('receipt_outbox').selectAll()
      .where('phone_number_id', '=', phoneNumberId).where('shard', 'in', shards).orderBy('seq').limit(limit).execute()
    return rows.map((r) => ({ seq: r.seq, phoneNumberId: r.phone_number_id, peer: r.peer, shard: r.shard, kind: r.kind as 'delivered' | 'read', envelopeId: r.envelope_id }))
  }

  async remove(seqs: number[]): Promise<void> {
    for (const part of statementChunks(seqs, 512)) await this.ctx.db.deleteFrom('receipt_outbox').where('seq', 'in', part).execute()
  }

  async reshard(phoneNumberId: string, shardOf: (peer: string) => number): Promise<void> {
    const rows = await this.ctx.db.selectFrom('receipt_outbox').select(['seq', 'peer', 'shard']).where('phone_number_id', '=', phoneNumberId).execute()
    for (const r of rows) {
      const shard = shardOf(r.peer)
      if (shard !== r.shard) await this.ctx.db.updateTable('receipt_outbox').set({ shard }).where('seq', '=', r.seq).execute()
    }
  }
}
