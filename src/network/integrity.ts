import type { Clock } from '../clock.js'
import { evaluateTier, type TierEvent, type TierProgress } from '../domain/messaging-tiers.js'
import type { Category, EnvelopeSend, Feedback } from '../wire/frames.js'
import type { Account } from './accounts.js'
import type { NetworkDb } from './database.js'
import { Portfolios } from './portfolios.js'
import { tierCapacity, type NetworkLimits, type Tier } from './options.js'
import { WireFailure } from './wire-failure.js'
import type { Trx, WriteBatcher } from './write-batcher.js'

export type Quality = 'GREEN' | 'YELLOW' | 'RED'

/** Told of every tier move and quality flag of a business number, in order. */
export type TierListener = (business: Account, event: TierEvent) => void

export interface IntegrityState {
  tier: Tier
  quality: Quality
  /** Unique users reached with business-initiated envelopes in the rolling window. */
  uniqueUsers: number
  /** Users who currently block the number. */
  blockedBy: number
  /** Blocks + reports inside the quality window. */
  negativeFeedback: number
  /** Conversations ever opened, and those open now, per category. */
  conversations: Record<Category, number>
  openConversations: Record<Category, number>
}

interface FixedWindow {
  start: number
  count: number
}

const CATEGORIES: Category[] = ['marketing', 'utility', 'authentication', 'service']
const pairKey = (business: string, user: string) => `${business}\0${user}`

/**
 * Limits on business senders and the meters behind them. Rolling counters that only
 * protect the network (throughput, pair rate) live in memory; what a business is billed
 * or judged by (conversations, unique users, blocks, feedback) is written in the same
 * transaction as the envelope and reloaded at start.
 */
export class Integrity {
  readonly #db: NetworkDb
  readonly #batcher: WriteBatcher
  readonly #clock: Clock
  readonly #limits: NetworkLimits
  readonly #throughput = new Map<string, FixedWindow>()
  readonly #pairs = new Map<string, FixedWindow>()
  readonly #blocks = new Set<string>()
  /** business → times of blocks and reports, oldest first. */
  readonly #feedback = new Map<string, number[]>()
  /** business → user → last business-initiated envelope. */
  readonly #initiated = new Map<string, Map<string, number>>()
  /** business\0user\0category → time the open conversation started. */
  readonly #conversations = new Map<string, number>()
  /** portfolio key → pending upgrade and low-quality streak (memory only: a restart starts them afresh). */
  readonly #progress = new Map<string, Omit<TierProgress, 'tier'>>()
  readonly #portfolios: Portfolios
  #onTierEvent: TierListener = () => undefined
  #accountOf: (waId: string) => Account | undefined = () => undefined

  private constructor(db: NetworkDb, batcher: WriteBatcher, clock: Clock, limits: NetworkLimits, portfolios: Portfolios) {
    this.#db = db
    this.#batcher = batcher
    this.#clock = clock
    this.#limits = limits
    this.#portfolios = portfolios
  }

  static async load(db: NetworkDb, batcher: WriteBatcher, clock: Clock, limits: NetworkLimits): Promise<Integrity> {
    const integrity = new Integrity(db, batcher, clock, limits, await Portfolios.load(db))
    const now = clock.now()
    for (const b of await db.selectFrom('blocks').select(['business', 'user']).execute()) integrity.#blocks.add(pairKey(b.business, b.user))
    const feedback = await db.selectFrom('feedback').select(['business', 'at']).where('at', '>', now - limits.qualityWindowMs).orderBy('id').execute()
    for (const f of feedback) integrity.#feedbackOf(f.business).push(f.at)
    const initiated = await db.selectFrom('initiated_users').selectAll().where('last_at', '>', now - limits.messagingWindowMs).execute()
    for (const i of initiated) {
      // the numbers of a portfolio share their users: a user reached by two of them counts once
      const users = integrity.#initiatedOf(integrity.#portfolios.keyOf(i.business))
      users.set(i.user, Math.max(users.get(i.user) ?? 0, i.last_at))
    }
    const open = await db.selectFrom('conversations').selectAll().where('opened_at', '>', now - limits.conversationWindowMs).orderBy('id').execute()
    for (const c of open) integrity.#conversations.set(`${pairKey(c.business, c.user)}\0${c.category}`, c.opened_at)
    return integrity
  }

  /** Where tier moves and quality flags go (the network pushes them to the business). */
  onTierEvent(listener: TierListener): void {
    this.#onTierEvent = listener
  }

  /** The account directory, for the other numbers of a portfolio. */
  useAccounts(accountOf: (waId: string) => Account | undefined): void {
    this.#accountOf = accountOf
  }

  /** The number and the others of its portfolio. */
  #members(business: Account): Account[] {
    return [business, ...this.#portfolios.membersOf(business.waId).slice(1).flatMap((w) => this.#accountOf(w) ?? [])]
  }

  /** Sets every member's tier (in `trx`, or a batch of its own) and tells each number of its move. */
  async #moveTier(members: Account[], tier: Tier, trx?: Trx): Promise<void> {
    const moved = members.filter((m) => this.tierOf(m) !== tier).map((m) => ({ m, old: this.tierOf(m) }))
    if (moved.length === 0) return
    const write = (t: Trx) => t.updateTable('accounts').set({ tier }).where('wa_id', 'in', moved.map(({ m }) => m.waId)).execute()
    await (trx ? write(trx) : this.#batcher.run(write))
    for (const { m, old } of moved) {
      m.tier = tier
      this.#onTierEvent(m, { event: tierCapacity(tier) > tierCapacity(old) ? 'UPGRADE' : 'DOWNGRADE', current: tier, old })
    }
  }

  /**
   * Puts the number in a portfolio (null: none). It takes the portfolio's limit at once, as
   * Meta gives new numbers of a portfolio, and its users of the window count for the portfolio.
   */
  async setPortfolio(business: Account, portfolio: string | null): Promise<void> {
    const own = this.#initiated.get(this.#portfolios.keyOf(business.waId))
    await this.#portfolios.set(this.#batcher, business.waId, portfolio)
    const shared = this.#initiatedOf(this.#portfolios.keyOf(business.waId))
    if (own && own !== shared) for (const [user, at] of own) shared.set(user, Math.max(shared.get(user) ?? 0, at))
    const other = this.#members(business)[1]
    if (other) await this.#moveTier([business], this.tierOf(other))
  }

  portfolioOf(waId: string): string | null {
    return this.#portfolios.of(waId)
  }

  /**
   * Moves the number's tier by the rules of domain/messaging-tiers.ts as of now: the new tier
   * is written in `trx` (or a batch of its own) before the listener hears of it.
   */
  async reviewTier(business: Account, trx?: Trx): Promise<void> {
    if (!business.business) return
    const now = this.#clock.now()
    const key = this.#portfolios.keyOf(business.waId)
    const members = this.#members(business)
    const before = this.tierOf(business)
    const kept = { upgradeAt: null, lowSince: null, ...this.#progress.get(key) }
    // the portfolio's quality is its worst number's
    const qualities = members.map((m) => this.quality(m.waId))
    const quality = qualities.includes('RED') ? 'RED' : qualities.includes('YELLOW') ? 'YELLOW' : 'GREEN'
    const { progress, events } = evaluateTier(
      { tier: before, ...kept },
      { now, quality, uniqueUsers: this.#usersTowardsUpgrade(key, before, kept.upgradeAt, now) },
      { upgradeDelayMs: this.#limits.tierUpgradeDelayMs, downgradeAfterMs: this.#limits.tierDowngradeAfterMs },
    )
    if (progress.upgradeAt === null && progress.lowSince === null) this.#progress.delete(key)
    else this.#progress.set(key, { upgradeAt: progress.upgradeAt, lowSince: progress.lowSince })
    for (const event of events) {
      // a move is the portfolio's; a flag (its worst number went RED, or recovered) is told to each number too
      if (event.event === 'UPGRADE' || event.event === 'DOWNGRADE') await this.#moveTier(members, event.current, trx)
      else {
        const restrictedUntil = event.event === 'FLAGGED' ? this.#redUntil(members) : undefined
        for (const m of members) this.#onTierEvent(m, { ...event, current: this.tierOf(m), old: this.tierOf(m), ...(restrictedUntil ? { restrictedUntil } : {}) })
      }
    }
  }

  /** An operator set the number's tier (control API): its portfolio takes it, each number hears of it, a pending upgrade is dropped. */
  async tierSet(business: Account, before: Tier): Promise<void> {
    const after = this.tierOf(business)
    const kept = this.#progress.get(this.#portfolios.keyOf(business.waId))
    if (kept) kept.upgradeAt = null
    if (after !== before) this.#onTierEvent(business, { event: tierCapacity(after) > tierCapacity(before) ? 'UPGRADE' : 'DOWNGRADE', current: after, old: before })
    await this.#moveTier(this.#members(business).slice(1), after)
  }

  /** Whether `user` blocked `business`: nothing of the business reaches them. */
  isBlocked(business: string, user: string): boolean {
    return this.#blocks.has(pairKey(business, user))
  }

  /**
   * Admits an envelope from a business to `user` (throws WireFailure on a breach, before
   * writing anything) and records it: counters, unique users, conversation opening.
   */
  async admit(trx: Trx, business: Account, user: string, frame: Pick<EnvelopeSend, 'category' | 'businessInitiated'>): Promise<void> {
    const now = this.#clock.now()
    const limits = this.#limits
    const pair = pairKey(business.waId, user)
    if (this.#blocks.has(pair)) throw new WireFailure('blocked', `${user} has blocked this business`)
    const throughput = current(this.#throughput, business.waId, now, 1000)
    if (throughput.count >= limits.throughputPerSecond) throw new WireFailure('throughput_limit', `more than ${limits.throughputPerSecond} envelopes per second`)
    const pairWindow = current(this.#pairs, pair, now, limits.pairWindowMs)
    if (pairWindow.count >= limits.pairBurst) throw new WireFailure('pair_rate_limit', `more than ${limits.pairBurst} envelopes to ${user} in ${limits.pairWindowMs} ms`)
    const initiated = frame.businessInitiated ? this.#initiatedOf(this.#portfolios.keyOf(business.waId)) : undefined
    if (initiated) {
      await this.reviewTier(business, trx)
      if (this.quality(business.waId) === 'RED') throw new WireFailure('spam_rate_limit', 'quality rating is RED: business-initiated messages are refused')
      const tier = this.tierOf(business)
      const capacity = tierCapacity(tier)
      // Counting prunes the map, so only count when the map could be full.
      if (!this.#inWindow(initiated, user, now) && initiated.size >= capacity && this.#uniqueUsers(initiated, now) >= capacity) {
        throw new WireFailure('messaging_limit', `tier ${tier}: unique users for business-initiated messages in 24 h reached`)
      }
    }

    // Counted now so later envelopes of the same batch see them. If the batch rolls back and is
    // retried job by job, an envelope counts twice: conservative, and only on that failure path.
    throughput.count++
    pairWindow.count++
    if (initiated) {
      initiated.set(user, now)
      await trx
        .insertInto('initiated_users')
        .values({ business: business.waId, user, last_at: now })
        .onConflict((oc) => oc.columns(['business', 'user']).doUpdateSet({ last_at: now }))
        .execute()
      // half the limit used: the upgrade is scheduled now
      await this.reviewTier(business, trx)
    }
    const category = frame.category ?? 'service'
    const conversation = `${pair}\0${category}`
    const openedAt = this.#conversations.get(conversation)
    if (openedAt === undefined || openedAt <= now - limits.conversationWindowMs) {
      this.#conversations.set(conversation, now)
      await trx.insertInto('conversations').values({ business: business.waId, user, category, opened_at: now }).execute()
    }
  }

  /** A user blocks, unblocks or reports a business. */
  async feedback(user: string, business: Account | undefined, kind: Feedback['kind']): Promise<void> {
    if (!business?.business) throw new WireFailure('not_found', 'feedback goes to a business number')
    const now = this.#clock.now()
    const pair = pairKey(business.waId, user)
    if (kind === 'block' && this.#blocks.has(pair)) return
    await this.#batcher.run(async (trx) => {
      if (kind === 'unblock') {
        await trx.deleteFrom('blocks').where('business', '=', business.waId).where('user', '=', user).execute()
        return
      }
      if (kind === 'block') await trx.insertInto('blocks').values({ business: business.waId, user, created_at: now }).onConflict((oc) => oc.doNothing()).execute()
      await trx.insertInto('feedback').values({ business: business.waId, user, kind, at: now }).execute()
    })
    if (kind === 'unblock') return void this.#blocks.delete(pair)
    if (kind === 'block') this.#blocks.add(pair)
    this.#feedbackOf(business.waId).push(now)
    await this.reviewTier(business)
  }

  tierOf(account: Account): Tier {
    return account.tier ?? this.#limits.initialTier
  }

  quality(business: string): Quality {
    const times = this.#feedbackOf(business)
    const since = this.#clock.now() - this.#limits.qualityWindowMs
    while (times.length > 0 && times[0]! <= since) times.shift()
    if (times.length >= this.#limits.qualityRedAt) return 'RED'
    return times.length >= this.#limits.qualityYellowAt ? 'YELLOW' : 'GREEN'
  }

  async state(account: Account): Promise<IntegrityState> {
    await this.reviewTier(account)
    const now = this.#clock.now()
    const rows = await this.#db
      .selectFrom('conversations')
      .select(['category', (eb) => eb.fn.countAll<number>().as('n')])
      .where('business', '=', account.waId)
      .groupBy('category')
      .execute()
    const conversations = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>
    for (const row of rows) conversations[row.category as Category] = Number(row.n)
    const openConversations = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>
    const prefix = `${account.waId}\0`
    for (const [key, openedAt] of this.#conversations) {
      if (key.startsWith(prefix) && openedAt > now - this.#limits.conversationWindowMs) openConversations[key.slice(key.lastIndexOf('\0') + 1) as Category]++
    }
    let blockedBy = 0
    for (const pair of this.#blocks) if (pair.startsWith(prefix)) blockedBy++
    const quality = this.quality(account.waId)
    return {
      tier: this.tierOf(account),
      quality,
      uniqueUsers: this.#uniqueUsers(this.#initiatedOf(this.#portfolios.keyOf(account.waId)), now),
      blockedBy,
      negativeFeedback: this.#feedbackOf(account.waId).length,
      conversations,
      openConversations,
    }
  }

  /** Forgets expired in-memory windows (the durable rows stay as history). */
  sweep(): void {
    const now = this.#clock.now()
    for (const [key, w] of this.#throughput) if (w.start <= now - 1000) this.#throughput.delete(key)
    for (const [key, w] of this.#pairs) if (w.start <= now - this.#limits.pairWindowMs) this.#pairs.delete(key)
    for (const [key, at] of this.#conversations) if (at <= now - this.#limits.conversationWindowMs) this.#conversations.delete(key)
    for (const users of this.#initiated.values()) this.#uniqueUsers(users, now)
    for (const business of this.#feedback.keys()) this.quality(business)
  }

  #inWindow(users: Map<string, number>, user: string, now: number): boolean {
    const last = users.get(user)
    return last !== undefined && last > now - this.#limits.messagingWindowMs
  }

  /** Counts users in the window, dropping those that left it. */
  #uniqueUsers(users: Map<string, number>, now: number): number {
    for (const [user, last] of users) if (last <= now - this.#limits.messagingWindowMs) users.delete(user)
    return users.size
  }

  /**
   * Unique users as far as the upgrade rule needs them: counting walks the whole window, so it
   * is skipped while it cannot matter (an upgrade pending, the top tier, under half by size).
   */
  #usersTowardsUpgrade(key: string, tier: Tier, upgradeAt: number | null, now: number): number {
    const users = this.#initiatedOf(key)
    if (upgradeAt !== null || tier === 'unlimited') return 0
    return users.size * 2 < tierCapacity(tier) ? users.size : this.#uniqueUsers(users, now)
  }

  /** Reviews the numbers with a pending upgrade or a low-quality streak: time alone moves them. */
  async reviewTiers(accounts: Iterable<Account>): Promise<void> {
    const seen = new Set<string>()
    for (const account of accounts) {
      const key = this.#portfolios.keyOf(account.waId)
      if (this.#progress.has(key) && !seen.has(key)) await this.reviewTier(account)
      seen.add(key)
    }
  }

  /** When the last of these numbers stops being RED if no new complaint comes: its complaints age out of the quality window. */
  #redUntil(members: Account[]): number | undefined {
    const ends = members.flatMap((m) => {
      const times = this.#feedbackOf(m.waId)
      const first = times[times.length - this.#limits.qualityRedAt]
      return first === undefined ? [] : [first + this.#limits.qualityWindowMs]
    })
    return ends.length > 0 ? Math.max(...ends) : undefined
  }

  #feedbackOf(business: string): number[] {
    let times = this.#feedback.get(business)
    if (!times) this.#feedback.set(business, (times = []))
    return times
  }

  #initiatedOf(business: string): Map<string, number> {
    let users = this.#initiated.get(business)
    if (!users) this.#initiated.set(business, (users = new Map()))
    return users
  }
}

/** The fixed window for `key` containing `now`, started afresh when the old one ran out. */
function current(windows: Map<string, FixedWindow>, key: string, now: number, length: number): FixedWindow {
  let window = windows.get(key)
  if (!window || window.start <= now - length) windows.set(key, (window = { start: now, count: 0 }))
  return window
}
