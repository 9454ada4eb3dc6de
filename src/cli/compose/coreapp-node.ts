import type { Logger } from 'pino'
import type { Clock } from '../../clock.js'
import { CoreApp, Housekeeper } from '../../coreapp/index.js'
import type { CoreAppTuning } from '../../coreapp/context.js'
import type { MediaVolume } from '../../media/volume.js'
import type { Store } from '../../store/store.js'
import { lingeringNotice } from './notice-linger.js'

export interface CoreNodeOptions {
  store: Store
  media: MediaVolume
  clock: Clock
  logger: Logger
  /** `ws://…/ws` of the network. */
  networkUrl: string
  /** This node in shard leases (and in the node registry of a cluster). */
  ownerId: string
  /** Callbacks were committed: wake a dispatcher. */
  onCallback: () => void
  housekeepingIntervalMs?: number
  tuning?: Partial<CoreAppTuning>
  /** Set for `wabox coreapp`: share the shards with the other CoreApps, answer RPC at this address. */
  cluster?: { rpcUrl(): string | null }
}

export interface CoreNode {
  coreapp: CoreApp
  /** Takes leases, connects and starts housekeeping. */
  start(): Promise<void>
  /** Housekeeping, then the CoreApp (pending commits finish, leases given back unless `releaseLeases: false`). */
  stop(opts?: { releaseLeases?: boolean }): Promise<void>
}

/**
 * The message engine of one process: a CoreApp and its housekeeper. `wabox start` runs it on
 * its engine thread, `wabox coreapp` as the whole process, benchmarks and tests directly.
 */
export function coreNode(opts: CoreNodeOptions): CoreNode {
  const { store, media, clock, logger } = opts
  // the callbacks of a few commits wake the dispatcher once
  const callbacksCommitted = lingeringNotice(() => opts.onCallback())
  const coreapp = new CoreApp({
    store,
    clock,
    logger,
    networkUrl: opts.networkUrl,
    media,
    ownerId: opts.ownerId,
    ...(opts.tuning ? { tuning: opts.tuning } : {}),
    ...(opts.cluster ? { cluster: opts.cluster } : {}),
    onCallback: () => callbacksCommitted(),
  })
  const housekeeper = new Housekeeper({
    store, media, clock, logger: logger.child({ component: 'housekeeping' }),
    ...(opts.housekeepingIntervalMs === undefined ? {} : { intervalMs: opts.housekeepingIntervalMs }),
  })
  return {
    coreapp,
    async start() {
      await coreapp.start()
      housekeeper.start()
    },
    async stop(stopOpts = {}) {
      await housekeeper.stop()
      await coreapp.stop(stopOpts)
    },
  }
}
