import type { ShardLeaseRow } from './coreapp-schema.js'
import type { StoreContext } from './store.js'

/**
 * Single-owner leases on (number, shard). Only the holder connects the shard to the network;
 * a lease that its owner stopped renewing may be taken over once it expires.
 */
export class ShardLeases {
  constructor(private readonly ctx: StoreContext) {}

  /**
   * Takes the lease if it is free, expired or already ours; true if we hold it afterwards. The
   * conditional update decides between holders; of two processes inserting a free lease, the
   * first insert wins and the other's is ignored. A lease row locked by its holder's commit is
   * skipped, not waited for: a holder frozen mid-commit must not stall this node's loop (the
   * database ends that transaction, see IDLE_TRANSACTION_TIMEOUT_MS, and a later pass takes it).
   */
  async acquire(phoneNumberId: string, shard: number, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.ctx.clock.now()
    const taken = await this.ctx.engine.claim(this.ctx.db, {
      table: 'shard_leases', key: ['phone_number_id', 'shard'], orderBy: ['shard'], limit: 1,
      set: { owner, expires_at: now + ttlMs }, returning: ['shard'],
      where: (eb) => eb.and([
        eb('phone_number_id', '=', phoneNumberId), eb('shard', '=', shard),
        eb.or([eb('owner', '=', owner), eb('expires_at', '<=', now)]),
      ]),
    })
    if (taken.length > 0) return true
    // a plain read takes no lock; only a lease that does not exist yet is inserted
    const exists = await this.ctx.db.selectFrom('shard_leases').select('shard')
      .where('phone_number_id', '=', phoneNumberId).where('shard', '=', shard).executeTakeFirst()
    if (exists) return false
    const inserted = await this.ctx.engine.insertIgnore(this.ctx.db.insertInto('shard_leases')
      .values({ phone_number_id: phoneNumberId, shard, owner, expires_at: now + ttlMs }), ['phone_number_id', 'shard'])
      .executeTakeFirst()
    return Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1
  }

  /** Extends every lease `owner` still holds; returns them (a lease missing here was lost). */
  async renew(owner: string, ttlMs: number): Promise<{ phoneNumberId: string; shard: number }[]> {
    const now = this.ctx.clock.now()
    const rows = await this.ctx.engine.updateReturning(this.ctx.db, {
      table: 'shard_leases', key: ['phone_number_id', 'shard'], set: { expires_at: now + ttlMs }, returning: ['phone_number_id', 'shard'],
      where: (eb) => eb.and([eb('owner', '=', owner), eb('expires_at', '>', now)]),
    })
    return rows.map((r) => ({ phoneNumberId: r.phone_number_id, shard: r.shard }))
  }

  /**
   * Fencing: true if `owner` still holds the lease right now. Call it inside the transaction
   * that commits Signal state: the row stays locked until that transaction ends, so no takeover
   * can slip in between the check and the commit (SQLite has one writer anyway).
   */
  async holds(phoneNumberId: string, shard: number, owner: string): Promise<boolean> {
    const now = this.ctx.clock.now()
    const row = await this.ctx.engine.selectForUpdate(this.ctx.db, 'shard_leases', ['owner'], (eb) => eb.and([
      eb('phone_number_id', '=', phoneNumberId), eb('shard', '=', shard), eb('owner', '=', owner), eb('expires_at', '>', now),
    ]))
    return row !== undefined
  }

  /** Gives leases back (graceful stop, or shards beyond a new shard count). */
  async release(owner: string, phoneNumberId?: string, shards?: number[]): Promise<void> {
    let q = this.ctx.db.deleteFrom('shard_leases').where('owner', '=', owner)
    if (phoneNumberId !== undefined) q = q.where('phone_number_id', '=', phoneNumberId)
    if (shards !== undefined) {
      if (shards.length === 0) return
      q = q.where('shard', 'in', shards)
    }
    await q.execute()
  }

  /** Drops leases of shards a number no longer has, whoever holds them. */
  async dropBeyond(phoneNumberId: string, shardCount: number): Promise<void> {
    await this.ctx.db.deleteFrom('shard_leases').where('phone_number_id', '=', phoneNumberId).where('shard', '>=', shardCount).execute()
  }

  list(phoneNumberId?: string): Promise<ShardLeaseRow[]> {
    let q = this.ctx.db.selectFrom('shard_leases').selectAll()
    if (phoneNumberId !== undefined) q = q.where('phone_number_id', '=', phoneNumberId)
    return q.orderBy('phone_number_id').orderBy('shard').execute()
  }
}
