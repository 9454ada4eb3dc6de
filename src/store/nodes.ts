import { randomBytes } from 'node:crypto'
import { sealingKeyId } from './key-rotation.js'
import type { StoreContext } from './store.js'

/** `all-in-one`: either thread of `wabox start` (its API and its engine), which share no shards with a cluster. */
export type NodeKind = 'coreapp' | 'webapp' | 'webhooks' | 'all-in-one'

export interface NodeInfo {
  id: string
  kind: NodeKind
  rpcUrl: string | null
  startedAt: number
  heartbeatAt: number
  /** The master key it seals with (null: a node from before 0012). */
  sealingKeyId: string | null
}

/** Who holds a shard of a number now, and where its CoreApp answers internal calls. */
export interface ShardRoute {
  shard: number
  owner: string
  rpcUrl: string | null
}

/**
 * The node registry: each process of a deployment beats here; a node whose last beat is older
 * than the unhealthy interval counts as gone. Plain update-then-insert, so every engine runs it.
 */
export class Nodes {
  constructor(private readonly ctx: StoreContext) {}

  /**
   * Each beat first brings the sealer in line with the key files (a key staged or dropped) and
   * with the key the database names, then reports the key this process seals with: a rotation
   * waits on that.
   */
  async heartbeat(node: { id: string; kind: NodeKind; rpcUrl?: string | null }): Promise<void> {
    this.ctx.sealer.refresh(await sealingKeyId(this.ctx.db))
    const now = this.ctx.clock.now()
    const fields = { kind: node.kind, rpc_url: node.rpcUrl ?? null, heartbeat_at: now, sealing_key_id: this.ctx.sealer.keyId }
    const updated = await this.ctx.db.updateTable('nodes').set(fields).where('id', '=', node.id).executeTakeFirst()
    if (updated.numUpdatedRows > 0n) return
    try {
      await this.ctx.db.insertInto('nodes').values({ id: node.id, ...fields, started_at: now }).execute()
    } catch {
      // another process of the same id inserted first: its row is as good as ours
      await this.ctx.db.updateTable('nodes').set(fields).where('id', '=', node.id).execute()
    }
  }

  /** Nodes of `kind` (every kind: undefined) that beat within `unhealthyMs`, by id. */
  async live(kind: NodeKind | undefined, unhealthyMs: number): Promise<NodeInfo[]> {
    let q = this.ctx.db.selectFrom('nodes').selectAll().where('heartbeat_at', '>', this.ctx.clock.now() - unhealthyMs)
    if (kind) q = q.where('kind', '=', kind)
    const rows = await q.orderBy('id').execute()
    return rows.map((r) => ({ id: r.id, kind: r.kind as NodeKind, rpcUrl: r.rpc_url, startedAt: r.started_at, heartbeatAt: r.heartbeat_at, sealingKeyId: r.sealing_key_id }))
  }

  /** A node that stops cleanly leaves the registry at once instead of after the unhealthy interval. */
  async remove(id: string): Promise<void> {
    await this.ctx.db.deleteFrom('nodes').where('id', '=', id).execute()
  }

  /** The unexpired leases of a number with their owner's RPC address (null: the owner is not registered). */
  async routes(phoneNumberId: string): Promise<ShardRoute[]> {
    const rows = await this.ctx.db.selectFrom('shard_leases')
      .leftJoin('nodes', 'nodes.id', 'shard_leases.owner')
      .select(['shard_leases.shard', 'shard_leases.owner', 'nodes.rpc_url'])
      .where('shard_leases.phone_number_id', '=', phoneNumberId)
      .where('shard_leases.expires_at', '>', this.ctx.clock.now())
      .orderBy('shard_leases.shard').execute()
    return rows.map((r) => ({ shard: r.shard, owner: r.owner, rpcUrl: r.rpc_url }))
  }

  /** A random secret every node of the deployment shares, made by whichever node asks first. */
  async sharedSecret(name: string): Promise<string> {
    const read = async () => {
      const row = await this.ctx.db.selectFrom('cluster_secrets').select('value').where('name', '=', name).executeTakeFirst()
      return row && this.ctx.sealer.open(row.value).toString('utf8')
    }
    const existing = await read()
    if (existing) return existing
    try {
      await this.ctx.db.insertInto('cluster_secrets').values({ name, value: this.ctx.sealer.seal(randomBytes(32).toString('base64url')) }).execute()
    } catch {
      // made by another node meanwhile: read below
    }
    const made = await read()
    if (!made) throw new Error(`the shared secret ${name} could not be stored`)
    return made
  }
}
