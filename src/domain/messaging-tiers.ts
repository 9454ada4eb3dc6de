/**
 * Messaging limits as Meta moves them since October 2025: how many unique users a business may
 * reach with business-initiated conversations in a moving 24 h, one step up the ladder when
 * half the limit was used with quality not low, one step down after sustained low quality.
 * Pure rules: the network (which owns quality and tier, as Meta does) keeps the state and
 * calls `evaluateTier` with its own clock.
 */

/** Tiers as the network stores them. '1000' is the pre-2025 step, kept settable, left on the first move. */
export const TIERS = ['250', '1000', '2000', '10000', '100000', 'unlimited'] as const
export type Tier = (typeof TIERS)[number]

/** The steps automatic scaling moves along (Meta's ladder since October 2025). */
const LADDER: readonly Tier[] = ['250', '2000', '10000', '100000', 'unlimited']

/** Graph's names (`messaging_limit_tier`, `current_limit` of `phone_number_quality_update`). */
const GRAPH_NAMES: Record<Tier, string> = {
  '250': 'TIER_250', '1000': 'TIER_1K', '2000': 'TIER_2K', '10000': 'TIER_10K', '100000': 'TIER_100K', unlimited: 'TIER_UNLIMITED',
}

export type QualityRating = 'GREEN' | 'YELLOW' | 'RED'

export function isTier(value: string): value is Tier {
  return (TIERS as readonly string[]).includes(value)
}

export function tierCapacity(tier: Tier): number {
  return tier === 'unlimited' ? Infinity : Number(tier)
}

export function graphTierName(tier: Tier): string {
  return GRAPH_NAMES[tier]
}

/** The next step up, or undefined at the top. */
export function tierAbove(tier: Tier): Tier | undefined {
  return LADDER.find((t) => tierCapacity(t) > tierCapacity(tier))
}

/** The next step down, or undefined at the bottom. */
export function tierBelow(tier: Tier): Tier | undefined {
  return [...LADDER].reverse().find((t) => tierCapacity(t) < tierCapacity(tier))
}

export interface TierRules {
  /** An upgrade lands this long after the number became eligible (Meta: within 6 h since October 2025). */
  upgradeDelayMs: number
  /** Quality low (RED) this long without a break: one step down. */
  downgradeAfterMs: number
}

/** What the network remembers about a number between evaluations. */
export interface TierProgress {
  tier: Tier
  /** When the pending upgrade lands; null when none is pending. */
  upgradeAt: number | null
  /** Since when quality has been RED without a break; null when it is not. */
  lowSince: number | null
}

/** Meta's `phone_number_quality_update` events. */
export type TierEventKind = 'FLAGGED' | 'UNFLAGGED' | 'UPGRADE' | 'DOWNGRADE'

export interface TierEvent {
  event: TierEventKind
  /** The tier after the event, and before it (equal for FLAGGED and UNFLAGGED). */
  current: Tier
  old: Tier
  /** FLAGGED: until when business-initiated messages stay refused if no new complaint comes (ms). */
  restrictedUntil?: number
}

export interface TierInput {
  now: number
  quality: QualityRating
  /** Unique users reached with business-initiated conversations in the moving window. */
  uniqueUsers: number
}

/**
 * The number's progress after looking at it at `now`, and what changed, in the order it
 * happened. Called after every business-initiated send and every feedback, and on demand.
 */
export function evaluateTier(progress: TierProgress, input: TierInput, rules: TierRules): { progress: TierProgress; events: TierEvent[] } {
  const events: TierEvent[] = []
  let { tier, upgradeAt, lowSince } = progress
  const { now, quality } = input
  if (quality === 'RED') {
    if (lowSince === null) {
      lowSince = now
      events.push({ event: 'FLAGGED', current: tier, old: tier })
    }
    // a pending upgrade does not land on a low-quality number
    upgradeAt = null
    const below = tierBelow(tier)
    if (below !== undefined && now - lowSince >= rules.downgradeAfterMs) {
      events.push({ event: 'DOWNGRADE', current: below, old: tier })
      tier = below
      // another full period of low quality before the next step down
      lowSince = now
    }
    return { progress: { tier, upgradeAt, lowSince }, events }
  }
  if (lowSince !== null) {
    lowSince = null
    events.push({ event: 'UNFLAGGED', current: tier, old: tier })
  }
  const above = tierAbove(tier)
  if (upgradeAt !== null && now >= upgradeAt && above !== undefined) {
    events.push({ event: 'UPGRADE', current: above, old: tier })
    tier = above
    upgradeAt = null
  }
  if (upgradeAt === null && tierAbove(tier) !== undefined && input.uniqueUsers * 2 >= tierCapacity(tier)) {
    upgradeAt = now + rules.upgradeDelayMs
  }
  return { progress: { tier, upgradeAt, lowSince }, events }
}

/** The `value` of a `phone_number_quality_update` webhook for one event. */
export function qualityUpdateValue(displayPhoneNumber: string, e: TierEvent): Record<string, unknown> {
  return {
    display_phone_number: displayPhoneNumber,
    event: e.event,
    current_limit: graphTierName(e.current),
    ...(e.old !== e.current ? { old_limit: graphTierName(e.old) } : {}),
    max_daily_conversations_per_business: graphTierName(e.current),
  }
}

/** What a `phone_number_quality_update` value says of the number: its limit (Graph name) and, when flagged or unflagged, its quality. */
export function qualityUpdateState(value: Record<string, unknown>): { qualityRating?: QualityRating; messagingLimitTier?: string } {
  const limit = typeof value.current_limit === 'string' ? value.current_limit : undefined
  const quality = value.event === 'FLAGGED' ? 'RED' : value.event === 'UNFLAGGED' ? 'GREEN' : undefined
  return { ...(limit !== undefined ? { messagingLimitTier: limit } : {}), ...(quality ? { qualityRating: quality } : {}) }
}

/**
 * The `value` of the `account_update` that tells a flagged number its business-initiated
 * messages are refused (Meta's ACCOUNT_RESTRICTION), with the time the refusal ends.
 */
export function restrictionUpdateValue(waId: string, until: number): Record<string, unknown> {
  return {
    phone_number: waId,
    event: 'ACCOUNT_RESTRICTION',
    restriction_info: [{ restriction_type: 'RESTRICTED_BIZ_INITIATED_MESSAGING', expiration: Math.ceil(until / 1000) }],
  }
}
