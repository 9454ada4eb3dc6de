import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { CoreBridge } from '../domain/bridge.js'
import type { MediaVolume } from '../media/volume.js'
import type { Store } from '../store/store.js'
import { CoreAppBridge } from './bridge.js'
import { CommitQueue } from './commit-queue.js'
import { DEFAULT_TUNING, type CoreAppTuning, type EngineContext } from './context.js'
import { MediaResolver } from './media-resolver.js'
import { NumberEngine } from './number-engine.js'
import { StatusWriter } from './statuses.js'
import { TemplatePacks } from './templates-cache.js'

export interface CoreAppOptions {
  store: Store
  clock: Clock
  logger: Logger
  /** `ws://…/ws` of the network. */
  networkUrl: string
  media: MediaVolume
  /** Identifies this process in shard leases; unique per running CoreApp. */
  ownerId: string
  /** Called after callbacks were committed, to wake the webhook dispatcher. */
  onCallback?: () => void
  tuning?: Partial<CoreAppTuning>
  /**
   * Shares the shards with the other CoreApps on the database (`wabox coreapp`): beats in the
   * node registry under `ownerId` and holds at most its fair share of each number's shards,
   * giving the excess back when a node joins. Without it, takes every free shard.
   */
  cluster?: { rpcUrl(): string | null }
}

/**
 * The message engine: holds the business's Signal keys, connects each registered number's
 * shards (those whose lease it holds) to the network, sends queued messages and persists
 * inbound ones. Several processes may run against one database; leases keep one owner per shard.
 */
export class CoreApp {
  readonly bridge: CoreBridge
  readonly #ctx: EngineContext
  readonly #engines = new Map<string, NumberEngine>()
  readonly #cluster: CoreAppOptions['cluster']
  #timer: NodeJS.Timeout | undefined
  #reconciling: Promise<void> = Promise.resolve()
  /** The reconcile that waits for the one running, if any. */
  #queued: Promise<void> | undefined
  #started = false
  #stopped = false

  constructor(opts: CoreAppOptions) {
    const tuning = { ...DEFAULT_TUNING, ...opts.tuning }
    const logger = opts.logger.child({ component: 'coreapp', owner: opts.ownerId })
    const queue = new CommitQueue(opts.store, logger, { lingerMs: tuning.commitLingerMs })
    const notifyCallbacks = () => opts.onCallback?.()
    this.#cluster = opts.cluster
    this.#ctx = {
      store: opts.store,
      clock: opts.clock,
      logger,
      media: opts.media,
      networkUrl: opts.networkUrl,
      ownerId: opts.ownerId,
      tuning,
      queue,
      statuses: new StatusWriter(queue, notifyCallbacks),
      mediaResolver: new MediaResolver(opts.store, opts.media, tuning.mediaDownloadTimeoutMs),
      templates: new TemplatePacks(tuning.templateMaxAgeMs),
      notifyCallbacks,
    }
    this.bridge = new CoreAppBridge({
      ctx: this.#ctx,
      engine: (id) => this.#engines.get(id),
      stopEngine: (id) => this.#stopEngine(id),
      reconcile: () => this.reconcile(),
    })
  }

  /** Takes the leases it can, connects, and keeps renewing them. */
  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    await this.reconcile()
    this.#timer = setInterval(() => void this.reconcile(), this.#ctx.tuning.leaseRenewMs)
    this.#timer.unref()
  }

  /**
   * Stops sending and receiving, waits for pending commits and (by default) gives the leases
   * back so another process can take over at once. `releaseLeases: false` leaves them to expire,
   * as a crash would.
   */
  async stop(opts: { releaseLeases?: boolean } = {}): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    clearInterval(this.#timer)
    await this.#reconciling
    const ids = [...this.#engines.keys()]
    await Promise.all(ids.map((id) => this.#stopEngine(id)))
    await this.#ctx.queue.idle()
    if (opts.releaseLeases ?? true) {
      // while the leases are still ours: once released, the next owner's status is the one that counts
      for (const id of ids) await this.#ctx.store.numbers.setGatewayStatus(id, 'disconnected', this.#ctx.ownerId)
      await this.#ctx.store.shardLeases.release(this.#ctx.ownerId)
      if (this.#cluster) await this.#ctx.store.nodes.remove(this.#ctx.ownerId)
    }
  }

  /**
   * New messages were queued: claim them now instead of at the next poll. Only the outbound
   * pipeline: at 1,000 accepted messages/s, waking receipts and contact-check jobs as well
   * cost two empty queries per wake-up.
   */
  wake(phoneNumberId?: string): void {
    if (phoneNumberId) this.#engines.get(phoneNumberId)?.outbound.wake()
    else for (const engine of this.#engines.values()) engine.outbound.wake()
  }

  /** Shards this process holds a connection for, per number. */
  ownedShards(): Map<string, number[]> {
    return new Map([...this.#engines].map(([id, engine]) => [id, engine.shards]))
  }

  /**
   * Renews leases, takes free ones and brings every number's connections in line (serialized).
   * A call while one waits to start shares it: after a database freeze the timer's calls would
   * otherwise run back to back, one per renewal interval of the freeze.
   */
  reconcile(): Promise<void> {
    if (this.#queued) return this.#queued
    const next = this.#reconciling.then(() => {
      this.#queued = undefined
      return this.#reconcile()
    }).catch((err: unknown) => {
      this.#ctx.logger.error({ err }, 'reconciling numbers and leases failed')
    })
    this.#queued = next
    this.#reconciling = next
    return next
  }

  async #reconcile(): Promise<void> {
    if (this.#stopped) return
    const { store, ownerId, tuning } = this.#ctx
    const peers = await this.#livePeers()
    const held = new Map<string, Set<number>>()
    for (const lease of await store.shardLeases.renew(ownerId, tuning.leaseTtlMs)) {
      held.set(lease.phoneNumberId, (held.get(lease.phoneNumberId) ?? new Set()).add(lease.shard))
    }
    const rows = await store.numbers.list()
    for (const row of rows) {
      const mine = held.get(row.id) ?? new Set<number>()
      if (row.status !== 'registered' || !row.network_secret) {
        await this.#stopEngine(row.id)
        if (mine.size > 0) await store.shardLeases.release(ownerId, row.id)
        continue
      }
      const beyond = [...mine].filter((s) => s >= row.shard_count)
      if (beyond.length > 0) {
        await store.shardLeases.release(ownerId, row.id, beyond)
        beyond.forEach((s) => mine.delete(s))
      }
      const share = peers ? await this.#fairShare(row.id, row.shard_count, mine.size, peers) : row.shard_count
      const excess = [...mine].sort((a, b) => b - a).slice(0, Math.max(0, mine.size - share))
      excess.forEach((s) => mine.delete(s))
      const fresh = new Set<number>()
      for (let shard = 0; shard < row.shard_count && mine.size < share; shard++) {
        if (!mine.has(shard) && !excess.includes(shard) && (await store.shardLeases.acquire(row.id, shard, ownerId, tuning.leaseTtlMs))) {
          mine.add(shard)
          fresh.add(shard)
        }
      }
      if (mine.size === 0) {
        await this.#stopEngine(row.id)
        await this.#handOver(row.id, excess)
        continue
      }
      const password = store.ctx.sealer.open(row.network_secret).toString('utf8')
      let engine = this.#engines.get(row.id)
      if (!engine) {
        engine = new NumberEngine(this.#ctx, row, password)
        this.#engines.set(row.id, engine)
      }
      if (this.#stopped) return
      await engine.reconcile(row, password, [...mine].sort((a, b) => a - b), fresh)
      await this.#handOver(row.id, excess)
    }
    const known = new Set(rows.map((r) => r.id))
    for (const id of this.#engines.keys()) if (!known.has(id)) await this.#stopEngine(id)
  }

  /** The live CoreApps sharing the shards, this one included, by id; undefined outside a cluster. */
  async #livePeers(): Promise<string[] | undefined> {
    if (!this.#cluster) return undefined
    const { store, ownerId, tuning } = this.#ctx
    await store.nodes.heartbeat({ id: ownerId, kind: 'coreapp', rpcUrl: this.#cluster.rpcUrl() })
    const live = (await store.nodes.live('coreapp', tuning.leaseTtlMs)).map((n) => n.id)
    return live.includes(ownerId) ? live : [...live, ownerId]
  }

  /**
   * How many of a number's shards this node may hold: every live node gets ⌊shards / nodes⌋,
   * the remainder goes one each to the nodes that hold most already (then by id), so shards
   * stay where they are unless the spread is off by more than one. A resumed node therefore
   * comes back as a standby instead of taking its shards back.
   */
  async #fairShare(phoneNumberId: string, shards: number, mine: number, peers: string[]): Promise<number> {
    const { store, ownerId, clock } = this.#ctx
    const now = clock.now()
    const held = new Map(peers.map((id) => [id, 0]))
    for (const lease of await store.shardLeases.list(phoneNumberId)) {
      const count = held.get(lease.owner)
      if (count !== undefined && lease.expires_at > now) held.set(lease.owner, count + 1)
    }
    held.set(ownerId, mine)
    const ranked = [...held].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1)).map(([id]) => id)
    return Math.floor(shards / peers.length) + (ranked.indexOf(ownerId) < shards % peers.length ? 1 : 0)
  }

  /**
   * A node joined: shards beyond this node's share go to it. Their connections are closed
   * already; pending commits finish before the leases are given back, so the next owner starts
   * from everything this one wrote (a commit still in flight fails its fencing check).
   */
  async #handOver(id: string, shards: number[]): Promise<void> {
    if (shards.length === 0) return
    await this.#ctx.queue.idle()
    await this.#ctx.store.shardLeases.release(this.#ctx.ownerId, id, shards)
    this.#ctx.logger.info({ phoneNumberId: id, shards }, 'handed shards over to a node that joined')
  }

  async #stopEngine(id: string): Promise<void> {
    const engine = this.#engines.get(id)
    if (!engine) return
    this.#engines.delete(id)
    await engine.stop()
  }
}
