import { randomBytes } from 'node:crypto'
import type { StoreContext } from './store.js'

export type NodeKind = 'coreapp' | 'webapp' | 'webhooks'

export interface NodeInfo {
  id: string
  kind: NodeKind
  rpcUrl: string | null
  startedAt: number
  heartbeatAt: number
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

  async heartbeat(node: { id: string; kind: NodeKind; rpcUrl?: string | null }): Promise<void> {
    const now = this.ctx.clock.now()
    const fields = { kind: node.kind, rpc_url: node.rpcUrl ?? null, heartbeat_at: now }
    const updated = await this.ctx.db.updateTable('nodes').set(fields).where('id', '=', node.id).executeTakeFirst()
    if (updated.numUpdatedRows > 0n) return
    try {
      await this.ctx.db.insertInto('nodes').values({ id: node.id, ...fields, started_at: now }).execute()
    } catch {
      // another process of the same id inserted first: its row is as good as ours
      await this.ctx.db.updateTable('nodes').set(fields).where('id', '=', node.id).execute()
    }
  }

  /** Nodes of `kind` that beat within `unhealthyMs`, by id. */
  async live(kind: NodeKind, unhealthyMs: number): Promise<NodeInfo[]> {
    const rows = await this.ctx.db.selectFrom('nodes').selectAll()
      .where('kind', '=', kind).where('heartbeat_at', '>', this.ctx.clock.now() - unhealthyMs)
      .orderBy('id').execute()
    return rows.map((r) => ({ id: r.id, kind: r.kind as NodeKind, rpcUrl: r.rpc_url, startedAt: r.started_at, heartbeatAt: r.heartbeat_at }))
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
