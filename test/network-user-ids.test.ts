import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isBsuid } from '../src/domain/bsuid.js'
import { countryOfWaId } from '../src/domain/calling-codes.js'
import type { Account } from '../src/network/accounts.js'
import { UserIds } from '../src/network/user-ids.js'
import type { NetworkClient } from '../src/wire/client.js'
import type { BsuidResolveResult, EnvelopePush, EnvelopeSendResult, ReceiptPush } from '../src/wire/frames.js'
import { Harness, nextEvent } from './network-harness.js'

let h: Harness
afterEach(async () => h?.close())

const FORMAT = /^US\.[1-9][0-9]{0,38}$/

function send(client: NetworkClient, to: string, envelopeId: string) {
  return client.request<EnvelopeSendResult>({ t: 'envelope.send', envelopeId, to, kind: 'message', body: randomBytes(32) })
}

/** What a business sees as `from` and its user id on the next envelope from `phone`. */
async function envelopeFrom(biz: NetworkClient, phone: NetworkClient, to: string, envelopeId: string): Promise<EnvelopePush> {
  const arrived = nextEvent<EnvelopePush>(biz, 'envelope')
  await send(phone, to, envelopeId)
  return arrived
}

describe('business-scoped user ids on the network', () => {
  it('gives a business the same id for a user on every envelope, receipt and send, and across a restart', async () => {
    h = await Harness.start()
    const business = await h.register('1', '5550300', 'Ids Co')
    const phone = await h.register('1', '5550301')
    const biz = await h.connect(business)
    const ph = await h.connect(phone)

    const first = await envelopeFrom(biz, ph, business.waId, 'in-1')
    expect(first.from).toBe(phone.waId)
    expect(first.fromUserId).toMatch(FORMAT)
    expect(isBsuid(first.fromUserId)).toBe(true)
    expect((await envelopeFrom(biz, ph, business.waId, 'in-2')).fromUserId).toBe(first.fromUserId)

    const sent = await send(biz, phone.waId, 'out-1')
    expect(sent.toUserId).toBe(first.fromUserId)
    const receipt = nextEvent<ReceiptPush>(biz, 'receipt')
    await ph.request({ t: 'receipt.send', to: business.waId, kind: 'delivered', envelopeIds: ['out-1'] })
    expect((await receipt).fromUserId).toBe(first.fromUserId)

    await h.restart()
    const [biz2, ph2] = await Promise.all([h.connect(business), h.connect(phone)])
    expect((await envelopeFrom(biz2, ph2, business.waId, 'in-3')).fromUserId).toBe(first.fromUserId)
  })

  it('gives different businesses different ids for one user, and a user on a new number a new id', async () => {
    h = await Harness.start()
    const acme = await h.register('1', '5550310', 'Acme')
    const globex = await h.register('1', '5550311', 'Globex')
    const phone = await h.register('1', '5550312')
    const newNumber = await h.register('1', '5550313')
    const [a, g, ph, ph2] = await Promise.all([h.connect(acme), h.connect(globex), h.connect(phone), h.connect(newNumber)])
    const towardsAcme = (await envelopeFrom(a, ph, acme.waId, 'a-1')).fromUserId
    const towardsGlobex = (await envelopeFrom(g, ph, globex.waId, 'g-1')).fromUserId
    expect(towardsAcme).toMatch(FORMAT)
    expect(towardsGlobex).toMatch(FORMAT)
    expect(towardsGlobex).not.toBe(towardsAcme)
    const afterChange = (await envelopeFrom(a, ph2, acme.waId, 'a-2')).fromUserId
    expect(afterChange).toMatch(FORMAT)
    expect(afterChange).not.toBe(towardsAcme)
  })

  it('shows phones no ids: not on envelopes or receipts from a business, nor on their own sends', async () => {
    h = await Harness.start()
    const business = await h.register('1', '5550320', 'Ids Co')
    const phone = await h.register('1', '5550321')
    const other = await h.register('1', '5550322')
    const [biz, ph, ph2] = await Promise.all([h.connect(business), h.connect(phone), h.connect(other)])
    const fromBusiness = nextEvent<EnvelopePush>(ph, 'envelope')
    await send(biz, phone.waId, 'b-1')
    expect((await fromBusiness).fromUserId).toBeUndefined()
    const receipt = nextEvent<ReceiptPush>(ph, 'receipt')
    await biz.request({ t: 'receipt.send', to: phone.waId, kind: 'read', envelopeIds: ['p-1'] })
    expect((await receipt).fromUserId).toBeUndefined()
    expect(await send(ph, business.waId, 'p-2')).not.toHaveProperty('toUserId')
    const fromPhone = nextEvent<EnvelopePush>(ph2, 'envelope')
    expect(await send(ph, other.waId, 'p-3')).not.toHaveProperty('toUserId')
    expect((await fromPhone).fromUserId).toBeUndefined()
  })

  it('resolves a business its own users ids only, with bsuid.resolve', async () => {
    h = await Harness.start()
    const acme = await h.register('1', '5550340', 'Acme')
    const globex = await h.register('1', '5550341', 'Globex')
    const phone = await h.register('1', '5550342')
    const [a, g, ph] = await Promise.all([h.connect(acme), h.connect(globex), h.connect(phone)])
    const userId = (await send(a, phone.waId, 'x')).toUserId!
    const resolve = (client: NetworkClient, id: string) => client.request<BsuidResolveResult>({ t: 'bsuid.resolve', userId: id })

    expect(await resolve(a, userId)).toEqual({ waId: phone.waId })
    // another business's id names no one of this business, and ids are spelled one way
    await expect(resolve(g, userId)).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining(userId) })
    await expect(resolve(a, userId.replace('.', '.0'))).rejects.toMatchObject({ code: 'not_found' })
    await expect(resolve(a, userId.replace('US.', 'GB.'))).rejects.toMatchObject({ code: 'not_found' })
    for (const garbage of ['US.1', 'US.12345678901234567890', `US.${'9'.repeat(60)}`, 'not an id', '']) {
      await expect(resolve(a, garbage)).rejects.toMatchObject({ code: 'not_found' })
    }
    await expect(resolve(ph, userId)).rejects.toMatchObject({ code: 'bad_request', message: expect.stringContaining('business') })
  })
})

describe('UserIds', () => {
  const account = (waId: string, business = false) => ({ waId, business }) as Account
  const accounts = new Map([['15550100', account('15550100', true)], ['447700900123', account('447700900123')], ['5511987654321', account('5511987654321')], ['998901234567', account('998901234567')], ['80012345678', account('80012345678')]])
  const ids = new UserIds(randomBytes(32), (waId) => accounts.get(waId))

  it('prefixes the country of the user number and resolves back', () => {
    for (const [user, country] of [['447700900123', 'GB'], ['5511987654321', 'BR'], ['998901234567', 'UZ'], ['80012345678', 'ZZ']] as const) {
      const id = ids.of('15550100', user)
      expect(id.startsWith(`${country}.`)).toBe(true)
      expect(isBsuid(id)).toBe(true)
      expect(ids.resolve('15550100', id)).toBe(user)
    }
  })

  it('gives no id between two businesses, or from a user towards a user', () => {
    accounts.set('15550200', account('15550200', true))
    expect(ids.towards(accounts.get('15550100')!, '15550200')).toBeUndefined()
    expect(ids.towards(accounts.get('447700900123')!, '5511987654321')).toBeUndefined()
    expect(ids.towards(accounts.get('15550100')!, '5511987654321')).toBe(ids.of('15550100', '5511987654321'))
    // a number not (or no longer) on the network has no id to resolve to
    expect(ids.towards(accounts.get('15550100')!, '4915112345678')).toBeUndefined()
    expect(ids.resolve('15550100', ids.of('15550100', '4915112345678'))).toBeUndefined()
  })

  it('keeps its secret in the data directory, owner-only, and the same ids after a reload', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-user-ids-'))
    try {
      const before = UserIds.load(dir, (waId) => accounts.get(waId)).of('15550100', '447700900123')
      expect(fs.statSync(path.join(dir, 'user-id-secret')).mode & 0o777).toBe(0o600)
      expect(UserIds.load(dir, (waId) => accounts.get(waId)).of('15550100', '447700900123')).toBe(before)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('countryOfWaId', () => {
  it('reads the calling code as a prefix code', () => {
    expect(countryOfWaId('15550000001')).toBe('US')
    expect(countryOfWaId('79161234567')).toBe('RU')
    expect(countryOfWaId('4915112345678')).toBe('DE')
    expect(countryOfWaId('2348031234567')).toBe('NG')
    expect(countryOfWaId('35312345678')).toBe('IE')
    expect(countryOfWaId('88212345678')).toBe('ZZ')
  })
})

describe('isBsuid', () => {
  it('accepts ids and parent ids, and never a phone number', () => {
    for (const ok of ['US.13491208655302741918', 'BR.1502576394655843', 'US.ENT.11815799212886844830', `IN.${'a1'.repeat(64)}`]) expect(isBsuid(ok)).toBe(true)
    for (const bad of ['15550000001', '+1 555 000 0001', 'us.123', 'USA.123', 'US.', 'US.12-3', `US.${'1'.repeat(129)}`, 'US.123\n', 12, undefined]) expect(isBsuid(bad)).toBe(false)
  })
})
