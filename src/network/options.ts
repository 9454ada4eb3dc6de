import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { HttpTimeouts } from '../http-timeouts.js'
import type { TemplateQualityRules } from '../domain/template-quality.js'
import type { Tier } from '../domain/messaging-tiers.js'

/** Messaging-limit tiers: unique users a number may start business-initiated conversations with per rolling 24 h. */
export { TIERS, tierCapacity, type Tier } from '../domain/messaging-tiers.js'

export interface NetworkLimits {
  /** Tier of a newly registered business number ('strict' default 250; 'dev' default unlimited). */
  initialTier: Tier
  /** Rolling window of the messaging-limit tier. */
  messagingWindowMs: number
  /** Tiers move (domain/messaging-tiers.ts): an upgrade lands this long after half the limit was used. */
  tierUpgradeDelayMs: number
  /** Quality RED this long without a break moves the tier one step down. */
  tierDowngradeAfterMs: number
  /** Pair rate limit: at most `pairBurst` envelopes from one business to one user per `pairWindowMs`. */
  pairBurst: number
  pairWindowMs: number
  /** Envelopes per second one business number may send. */
  throughputPerSecond: number
  /** Blocks + reports within `qualityWindowMs` that turn the quality rating YELLOW / RED. */
  qualityWindowMs: number
  qualityYellowAt: number
  qualityRedAt: number
  /** A conversation stays open this long after its first envelope. */
  conversationWindowMs: number
  /** `keys.low` is pushed when fewer one-time pre-keys than this remain. */
  preKeysLowThreshold: number
  /** Undelivered envelopes older than this fail with an `envelope.failed` push to the sender. */
  envelopeTtlMs: number
  /** How long the server remembers envelope ids for duplicate detection. */
  dedupRetentionMs: number
  /** Registration codes expire after this long. */
  codeTtlMs: number
  /** Largest blob accepted by `POST /blobs`. */
  maxBlobBytes: number
}

export interface NetworkServerOptions {
  dataDir: string
  host?: string
  /** 0 picks an ephemeral port. */
  port?: number
  clock?: Clock
  logger?: Logger
  /** 'dev' (default) relaxes the tier limit and auto-approves templates. */
  profile?: 'dev' | 'strict'
  limits?: Partial<NetworkLimits>
  /** When set, `/control/*` requires `Authorization: Bearer <controlToken>`. */
  controlToken?: string
  /** Blob lifetime; default 14 days. */
  blobTtlMs?: number
  /** New templates start APPROVED instead of PENDING; default true for the dev profile. */
  autoApproveTemplates?: boolean
  /** How long a submitted template waits for its review (docs/templates.md); null: for an operator. Dev 0, strict null. */
  templateReviewDelayMs?: number | null
  /** Template quality and pause ladder rules (domain/template-quality.ts). */
  templateQuality?: Partial<TemplateQualityRules>
  /** How often expired blobs, envelopes and dedup entries are swept; default 60 s. */
  sweepIntervalMs?: number
  /** Server-side keep-alive ping interval; a connection missing one pong is dropped. Default 30 s. */
  pingIntervalMs?: number
  /** How long a client may take to send a request (blob uploads up to 100 MB) and stay idle; default 10 min and 60 s. */
  httpTimeouts?: Partial<HttpTimeouts>
  /** fsync every commit (default true); false keeps killed processes safe but not power cuts: load tests. */
  fsync?: boolean
}

/** The template review a profile gets: dev decides at once, strict leaves it to an operator. */
export function templateReview(profile: 'dev' | 'strict', opts: NetworkServerOptions): { delayMs: number | null } {
  if (opts.templateReviewDelayMs !== undefined) return { delayMs: opts.templateReviewDelayMs }
  return { delayMs: opts.autoApproveTemplates ?? profile === 'dev' ? 0 : null }
}

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR

export function resolveLimits(profile: 'dev' | 'strict', overrides: Partial<NetworkLimits> = {}): NetworkLimits {
  return Object.freeze({
    initialTier: profile === 'dev' ? 'unlimited' : '250',
    messagingWindowMs: DAY,
    tierUpgradeDelayMs: 6 * HOUR,
    tierDowngradeAfterMs: 7 * DAY,
    pairBurst: 45,
    pairWindowMs: 6000,
    throughputPerSecond: 1000,
    qualityWindowMs: 7 * DAY,
    qualityYellowAt: 5,
    qualityRedAt: 10,
    conversationWindowMs: DAY,
    preKeysLowThreshold: 10,
    envelopeTtlMs: 30 * DAY,
    dedupRetentionMs: 30 * DAY,
    codeTtlMs: HOUR,
    maxBlobBytes: 100 * 1024 * 1024,
    ...overrides,
  })
}
