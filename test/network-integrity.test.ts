import { afterEach, describe, expect, it } from 'vitest'
import type { NetworkClient } from '../src/wire/client.js'
import type { Category, EnvelopeSendResult, RegisterVerifyResult } from '../src/wire/frames.js'
import type { IntegrityState } from '../src/network/integrity.js'
import { Harness, type Credentials } from './network-harness.js'

let h: Harness
afterEach(async () => h?.close())

let counter = 0
function send(client: NetworkClient, to: string, opts: { businessInitiated?: boolean; category?: Category } = {}) {
  return client.request<EnvelopeSendResult>({ t: 'envelope.send', envelopeId: `e${++counter}`, to, kind: 'message', body: new Uint8Array(8), ...opts })
}

/** Registers `count` phones 1 555 1xxxxx concurrently (one connection, batched writes). */
async function registerPhones(count: number): Promise<Credentials[]> {
  const client = h.client()
  await client.connect()
  const phones = Array.from({ length: count }, (_, i) => `55510${String(i).padStart(4, '0')}`)
  await Promise.all(phones.map((phone) => client.request({ t: 'register.request', cc: '1', phone, method: 'sms' })))
  const codes = await Promise.all(phones.map((phone) => h.server.lastCode('1', phone)))
  return Promise.all(phones.map((phone, i) => client.request<RegisterVerifyResult>({ t: 'register.verify', cc: '1', phone, code: codes[i]! })))
}

async function setup(options: Parameters<typeof Harness.start>[0] = {}) {
  h = await Harness.start(options)
  const business = await h.register('1', '5550500', 'Limits Co')
  return { business, biz: await h.connect(business) }
}

describe('network integrity limits', () => {
  it('refuses sends to a user who blocked the business, until unblocked', async () => {
    const { business, biz } = await setup()
    const [user] = await registerPhones(1)
    const phone = await h.connect(user!)
    await phone.request({ t: 'feedback', waId: business.waId, kind: 'block' })
    await expect(send(biz, user!.waId)).rejects.toMatchObject({ code: 'blocked' })
    expect((await h.control('GET', `/control/accounts/${business.waId}/integrity`)).body).toMatchObject({ blockedBy: 1, negativeFeedback: 1 })
    await phone.request({ t: 'feedback', waId: business.waId, kind: 'unblock' })
    await send(biz, user!.waId)
    await expect(phone.request({ t: 'feedback', waId: user!.waId, kind: 'report' })).rejects.toMatchObject({ code: 'not_found' })
  })

  it('limits number throughput per second', async () => {
    const { biz } = await setup({ limits: { throughputPerSecond: 5 } })
    const users = await registerPhones(6)
    await Promise.all(users.slice(0, 5).map((u) => send(biz, u.waId)))
    await expect(send(biz, users[5]!.waId)).rejects.toMatchObject({ code: 'throughput_limit' })
    h.clock.tick(1000)
    await send(biz, users[5]!.waId)
  })

  it('limits bursts to one user to 45 per 6 s', async () => {
    const { biz } = await setup()
    const [user, other] = await registerPhones(2)
    await Promise.all(Array.from({ length: 45 }, () => send(biz, user!.waId)))
    await expect(send(biz, user!.waId)).rejects.toMatchObject({ code: 'pair_rate_limit' })
    await send(biz, other!.waId) // other users are unaffected
    h.clock.tick(6000)
    await send(biz, user!.waId)
  })

  it('turns quality RED on reports and then refuses business-initiated sends with spam_rate_limit', async () => {
    const { business, biz } = await setup({ limits: { qualityYellowAt: 1, qualityRedAt: 2, qualityWindowMs: 60_000 } })
    const [a, b, c] = await registerPhones(3)
    const quality = async () => ((await h.control('GET', `/control/accounts/${business.waId}/integrity`)).body as IntegrityState).quality
    expect(await quality()).toBe('GREEN')
    await (await h.connect(a!)).request({ t: 'feedback', waId: business.waId, kind: 'report' })
    expect(await quality()).toBe('YELLOW')
    await (await h.connect(b!)).request({ t: 'feedback', waId: business.waId, kind: 'report' })
    expect(await quality()).toBe('RED')
    await expect(send(biz, c!.waId, { businessInitiated: true, category: 'marketing' })).rejects.toMatchObject({ code: 'spam_rate_limit' })
    await send(biz, c!.waId, { category: 'service' }) // replies still go
    h.clock.tick(60_000)
    expect(await quality()).toBe('GREEN')
    await send(biz, c!.waId, { businessInitiated: true, category: 'marketing' })
  })

  it('caps unique users of business-initiated sends per rolling 24 h by tier', async () => {
    const { business, biz } = await setup({ profile: 'strict' })
    const users = await registerPhones(251)
    await Promise.all(users.slice(0, 250).map((u) => send(biz, u.waId, { businessInitiated: true, category: 'marketing' })))
    const extra = users[250]!.waId
    await expect(send(biz, extra, { businessInitiated: true, category: 'marketing' })).rejects.toMatchObject({ code: 'messaging_limit' })
    await send(biz, extra, { category: 'service' }) // not business-initiated: not counted
    await send(biz, users[0]!.waId, { businessInitiated: true, category: 'utility' }) // already counted user
    const state = (await h.control('PUT', `/control/accounts/${business.waId}/tier`, { tier: '1000' })).body as IntegrityState
    expect(state).toMatchObject({ tier: '1000', uniqueUsers: 250 })
    await send(biz, extra, { businessInitiated: true, category: 'marketing' })
    expect((await h.control('PUT', `/control/accounts/${business.waId}/tier`, { tier: '5' })).status).toBe(400)

    await h.control('PUT', `/control/accounts/${business.waId}/tier`, { tier: '250' })
    h.clock.tick(24 * 60 * 60 * 1000)
    await send(biz, extra, { businessInitiated: true, category: 'marketing' })
  })

  it('counts 24 h conversations per category and exposes them on the control API', async () => {
    const { business, biz } = await setup()
    const [a, b] = await registerPhones(2)
    await send(biz, a!.waId, { businessInitiated: true, category: 'marketing' })
    await send(biz, a!.waId, { businessInitiated: true, category: 'marketing' }) // same conversation
    await send(biz, a!.waId, { category: 'utility' })
    await send(biz, b!.waId, { category: 'marketing' })
    await send(biz, b!.waId) // no category: service
    await (await h.connect(a!)).request({ t: 'envelope.send', envelopeId: 'from-user', to: business.waId, kind: 'message', body: new Uint8Array(1) })
    h.clock.tick(24 * 60 * 60 * 1000)
    await send(biz, a!.waId, { businessInitiated: true, category: 'marketing' }) // a new conversation after 24 h
    const state = (await h.control('GET', `/control/accounts/${business.waId}/integrity`)).body as IntegrityState
    expect(state.conversations).toEqual({ marketing: 3, utility: 1, authentication: 0, service: 1 })
    expect(state.openConversations).toEqual({ marketing: 1, utility: 0, authentication: 0, service: 0 })
    expect(state).toMatchObject({ tier: 'unlimited', quality: 'GREEN', uniqueUsers: 1 })
  })

  it('keeps blocks, tiers and conversation counts across a restart', async () => {
    const { business, biz } = await setup({ profile: 'strict' })
    const [a, b] = await registerPhones(2)
    await send(biz, a!.waId, { businessInitiated: true, category: 'marketing' })
    await (await h.connect(b!)).request({ t: 'feedback', waId: business.waId, kind: 'block' })
    await h.control('PUT', `/control/accounts/${business.waId}/tier`, { tier: '10000' })
    await h.restart()
    const state = (await h.control('GET', `/control/accounts/${business.waId}/integrity`)).body as IntegrityState
    expect(state).toMatchObject({ tier: '10000', uniqueUsers: 1, blockedBy: 1, conversations: { marketing: 1 }, openConversations: { marketing: 1 } })
    const again = await h.connect(business)
    await expect(send(again, b!.waId)).rejects.toMatchObject({ code: 'blocked' })
  })
})
