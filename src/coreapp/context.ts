import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { MediaVolume } from '../media/volume.js'
import type { Store } from '../store/store.js'
import type { CommitQueue } from './commit-queue.js'
import { MEDIA_DOWNLOAD_TIMEOUT_MS, type MediaResolver } from './media-resolver.js'
import type { StatusWriter } from './statuses.js'
import type { TemplatePacks } from './templates-cache.js'

/** Knobs with production defaults; tests shorten the timers. */
export interface CoreAppTuning {
  /** A shard lease lasts this long unless renewed. */
  leaseTtlMs: number
  /** How often leases are renewed and numbers reconciled (must be well under leaseTtlMs). */
  leaseRenewMs: number
  /** Idle poll of the outbox, receipt queue and contact-check jobs. */
  pollMs: number
  /** Queued messages claimed per query. */
  claimBatch: number
  /** Messages in flight (claimed, not yet sent/failed) per number. */
  maxInflight: number
  /** Recipients encrypted for concurrently. */
  peerConcurrency: number
  /** One-time pre-keys per upload. */
  preKeys: number
  /** How long a template pack is used before it is fetched again. */
  templateMaxAgeMs: number
  /** Delay before a connection that failed to log in is tried again. */
  reconnectMs: number
  /** Transient send failures of one message before it fails for good (500). */
  maxSendAttempts: number
  /** How long the number's settings are used before they are read again (API changes apply after this). */
  settingsMaxAgeMs: number
  /** How long a group commit waits for more work before it starts (larger batches, fewer commits). */
  commitLingerMs: number
  /** Longest a `link` media download may take as a whole before its message fails (131053). */
  mediaDownloadTimeoutMs: number
}

export const DEFAULT_TUNING: Readonly<CoreAppTuning> = Object.freeze({
  // On-Prem's unhealthy_interval and heartbeat_interval: a stopped node's shards move within about 8 s
  leaseTtlMs: 6_000,
  leaseRenewMs: 2_000,
  pollMs: 200,
  claimBatch: 500,
  maxInflight: 5_000,
  peerConcurrency: 64,
  preKeys: 100,
  templateMaxAgeMs: 60_000,
  reconnectMs: 5_000,
  maxSendAttempts: 10,
  settingsMaxAgeMs: 1_000,
  // measured with bench/coreapp-send.ts: 0 → ~1.5 ms CPU per message, 5 → ~0.9 ms
  commitLingerMs: 5,
  mediaDownloadTimeoutMs: MEDIA_DOWNLOAD_TIMEOUT_MS,
})

/** What every part of the engine shares within one CoreApp process. */
export interface EngineContext {
  readonly store: Store
  readonly clock: Clock
  readonly logger: Logger
  readonly media: MediaVolume
  readonly networkUrl: string
  readonly ownerId: string
  readonly tuning: CoreAppTuning
  readonly queue: CommitQueue
  readonly statuses: StatusWriter
  readonly mediaResolver: MediaResolver
  readonly templates: TemplatePacks
  /** New callbacks were committed: wake the dispatcher. */
  notifyCallbacks(): void
}
