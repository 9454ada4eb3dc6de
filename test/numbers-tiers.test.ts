import { afterEach, describe, expect, it } from 'vitest'
import { evaluateTier, tierAbove, tierBelow, type TierProgress } from '../src/domain/messaging-tiers.js'
import type { IntegrityState } from '../src/network/integrity.js'
import type { NetworkClient } from '../src/wire/client.js'
import type { AccountUpdatePush, EnvelopeSendResult } from '../src/wire/frames.js'
import { Harness } from './network-harness.js'

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR
const RULES = { upgradeDelayMs: 6 * HOUR, downgradeAfterMs: DAY }

describe('messaging tiers: the pure rules', () => {
  const start: TierProgress = { tier: '250', upgradeAt: null, lowSince: null }

  it('climbs Meta\'s ladder since October 2025 and leaves the old 1K step on the first move', () => {
    expect([tierAbove('250'), tierAbove('2000'), tierAbove('100000'), tierAbove('unlimited')]).toEqual(['2000', '10000', 'unlimited', undefined])
    expect([tierAbove('1000'), tierBelow('1000'), tierBelow('2000'), tierBelow('250')]).toEqual(['2000', '250', '250', undefined])
  })

  it('schedules an upgrade at half the limit, lands it after the delay, and not while quality is low', () => {
    const half = evaluateTier(start, { now: 0, quality: 'GREEN', uniqueUsers: 124 }, RULES)
    expect(half.progress.upgradeAt).toBeNull()
    const due = evaluateTier(start, { now: 0, quality: 'YELLOW', uniqueUsers: 125 }, RULES)
    expect(due).toEqual({ progress: { tier: '250', upgradeAt: 6 * HOUR, lowSince: null }, events: [] })
    const early = evaluateTier(due.progress, { now: 6 * HOUR - 1, quality: 'GREEN', uniqueUsers: 0 }, RULES)
    expect(early.events).toEqual([])
    const landed = evaluateTier(due.progress, { now: 6 * HOUR, quality: 'GREEN', uniqueUsers: 0 }, RULES)
    expect(landed).toEqual({ progress: { tier: '2000', upgradeAt: null, lowSince: null }, events: [{ event: 'UPGRADE', current: '2000', old: '250' }] })
    const red = evaluateTier(due.progress, { now: 6 * HOUR, quality: 'RED', uniqueUsers: 125 }, RULES)
    expect(red).toEqual({ progress: { tier: '250', upgradeAt: null, lowSince: 6 * HOUR }, events: [{ event: 'FLAGGED', current: '250', old: '250' }] })
  })

  it('steps down after sustained low quality, again after another period; recovering unflags', () => {
    const flagged: TierProgress = { tier: '10000', upgradeAt: null, lowSince: 0 }
    expect(evaluateTier(flagged, { now: DAY - 1, quality: 'RED', uniqueUsers: 0 }, RULES).events).toEqual([])
    const down = evaluateTier(flagged, { now: DAY, quality: 'RED', uniqueUsers: 0 }, RULES)
    expect(down).toEqual({ progress: { tier: '2000', upgradeAt: null, lowSince: DAY }, events: [{ event: 'DOWNGRADE', current: '2000', old: '10000' }] })
    expect(evaluateTier(down.progress, { now: 2 * DAY, quality: 'RED', uniqueUsers: 0 }, RULES).progress.tier).toBe('250')
    expect(evaluateTier({ ...down.progress, tier: '250' }, { now: 9 * DAY, quality: 'RED', uniqueUsers: 0 }, RULES).events).toEqual([])
    expect(evaluateTier(down.progress, { now: DAY + 1, quality: 'GREEN', uniqueUsers: 0 }, RULES).events)
      .toEqual([{ event: 'UNFLAGGED', current: '2000', old: '2000' }])
  })
})

let h: Harness
afterEach(async () => h?.close())

let counter = 0
function send(client: NetworkClient, to: string) {
  return client.request<EnvelopeSendResult>({ t: 'envelope.send', envelopeId: `t${++counter}`, to, kind: 'message', body: new Uint8Array(8), businessInitiated: true, category: 'marketing' })
}

describe('messaging tiers on the network', () => {
  it('walks a number from TIER_250 up to TIER_2K and back down, each move a phone_number_quality_update in order', async () => {
    h = await Harness.start({ profile: 'strict', limits: { qualityRedAt: 3, qualityYellowAt: 2, qualityWindowMs: 30 * DAY, tierDowngradeAfterMs: 2 * DAY } })
    const business = await h.register('1', '5550600', 'Tiers Co')
    const { client: biz, events } = await h.connectExpecting<AccountUpdatePush>(business, 'account.update', 5)
    const state = async () => (await h.control('GET', `/control/accounts/${business.waId}/integrity`)).body as IntegrityState
    const users = await h.registerPhones(260, '55520')

    // half of 250 reached: the upgrade is due in 6 h; until then the 250 cap holds
    await Promise.all(users.slice(0, 250).map((u) => send(biz, u.waId)))
    await expect(send(biz, users[250]!.waId)).rejects.toMatchObject({ code: 'messaging_limit' })
    h.clock.tick(6 * HOUR)
    await send(biz, users[250]!.waId)
    expect(await state()).toMatchObject({ tier: '2000', quality: 'GREEN' })

    // three reports: quality RED, flagged; business-initiated sends refused
    for (const u of users.slice(0, 3)) await (await h.connect(u)).request({ t: 'feedback', waId: business.waId, kind: 'report' })
    await expect(send(biz, users[251]!.waId)).rejects.toMatchObject({ code: 'spam_rate_limit' })
    h.clock.tick(2 * DAY)
    expect(await state()).toMatchObject({ tier: '250', quality: 'RED' })
    h.clock.tick(30 * DAY)
    expect(await state()).toMatchObject({ tier: '250', quality: 'GREEN' })

    const updates = await events
    expect(updates.map((u) => u.field)).toEqual([...Array(2).fill('phone_number_quality_update'), 'account_update', ...Array(2).fill('phone_number_quality_update')])
    // the flag restricts business-initiated messages until the third report leaves the 30-day quality window
    const flaggedAt = updates[1]!.timestamp
    expect(updates.map((u) => u.value)).toEqual([
      { display_phone_number: '+1 5550600', event: 'UPGRADE', current_limit: 'TIER_2K', old_limit: 'TIER_250', max_daily_conversations_per_business: 'TIER_2K' },
      { display_phone_number: '+1 5550600', event: 'FLAGGED', current_limit: 'TIER_2K', max_daily_conversations_per_business: 'TIER_2K' },
      { phone_number: business.waId, event: 'ACCOUNT_RESTRICTION', restriction_info: [{ restriction_type: 'RESTRICTED_BIZ_INITIATED_MESSAGING', expiration: Math.ceil((flaggedAt + 30 * DAY) / 1000) }] },
      { display_phone_number: '+1 5550600', event: 'DOWNGRADE', current_limit: 'TIER_250', old_limit: 'TIER_2K', max_daily_conversations_per_business: 'TIER_250' },
      { display_phone_number: '+1 5550600', event: 'UNFLAGGED', current_limit: 'TIER_250', max_daily_conversations_per_business: 'TIER_250' },
    ])
    expect(updates.map((u) => u.timestamp)).toEqual([...updates.map((u) => u.timestamp)].sort((a, b) => a - b))

    // unacked updates come again after a new login, in the same order
    await biz.close()
    const again = await h.connectExpecting<AccountUpdatePush>(business, 'account.update', 5)
    expect((await again.events).map((u) => u.value.event)).toEqual(['UPGRADE', 'FLAGGED', 'ACCOUNT_RESTRICTION', 'DOWNGRADE', 'UNFLAGGED'])
    await again.client.request({ t: 'account.update.ack', updateIds: updates.map((u) => u.updateId) })
  })
})

describe('messaging tiers per business portfolio', () => {
  it('shares one limit among the numbers of a portfolio: users counted once, moves told to each, a new number takes the limit at once', async () => {
    h = await Harness.start({ profile: 'strict' })
    const [a, b, c] = [await h.register('1', '5550700', 'Acme One'), await h.register('1', '5550701', 'Acme Two'), await h.register('1', '5550702', 'Acme Three')]
    for (const n of [a, b]) expect((await h.control('PUT', `/control/accounts/${n!.waId}/portfolio`, { portfolio: 'acme' })).status).toBe(200)
    expect((await h.control('PUT', `/control/accounts/${a!.waId}/portfolio`, { portfolio: 'a b' })).status).toBe(400)
    const one = await h.connectExpecting<AccountUpdatePush>(a!, 'account.update', 1)
    const two = await h.connectExpecting<AccountUpdatePush>(b!, 'account.update', 1)
    const users = await h.registerPhones(252, '55530')

    await Promise.all(users.slice(0, 200).map((u) => send(one.client, u.waId)))
    // a user the other number reached already counts once
    await Promise.all([...users.slice(200, 250), users[0]!].map((u) => send(two.client, u.waId)))
    await expect(send(two.client, users[250]!.waId)).rejects.toMatchObject({ code: 'messaging_limit' })
    const state = async (n: { waId: string }) => (await h.control('GET', `/control/accounts/${n.waId}/integrity`)).body as IntegrityState
    expect(await state(b!)).toMatchObject({ tier: '250', uniqueUsers: 250 })

    h.clock.tick(6 * HOUR)
    await send(two.client, users[250]!.waId)
    for (const updates of [await one.events, await two.events]) {
      expect(updates.map((u) => u.value)).toEqual([expect.objectContaining({ event: 'UPGRADE', current_limit: 'TIER_2K', old_limit: 'TIER_250' })])
    }
    expect(await state(a!)).toMatchObject({ tier: '2000', uniqueUsers: 251 })

    const three = await h.connectExpecting<AccountUpdatePush>(c!, 'account.update', 1)
    const joined = (await h.control('PUT', `/control/accounts/${c!.waId}/portfolio`, { portfolio: 'acme' })).body
    expect(joined).toMatchObject({ portfolio: 'acme', tier: '2000', uniqueUsers: 251 })
    expect((await three.events)[0]!.value).toMatchObject({ event: 'UPGRADE', current_limit: 'TIER_2K' })

    // the portfolio and its users of the window survive a restart of the network
    await h.restart()
    expect(await state(c!)).toMatchObject({ tier: '2000', uniqueUsers: 251 })
  })
})
