import { afterEach, describe, expect, it } from 'vitest'
import { WireRequestError } from '../src/wire/client.js'
import { CloseCode, type ContactsCheckResult, type RegisterRequestResult, type RegisterVerifyResult } from '../src/wire/frames.js'
import { Harness, keyUpload, nextEvent } from './network-harness.js'

let h: Harness
afterEach(async () => h?.close())

async function rejection(promise: Promise<unknown>): Promise<WireRequestError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(WireRequestError)
  return err as WireRequestError
}

describe('network registration', () => {
  it('registers a business with a vname certificate and logs it in', async () => {
    h = await Harness.start()
    const cert = await h.vnameCert('1', '6315550000', 'Acme Shoes')
    const client = h.client()
    await client.connect()
    const requested = await client.request<RegisterRequestResult>({ t: 'register.request', cc: '1', phone: '6315550000', method: 'sms', cert })
    expect(requested).toEqual({ status: 'code_sent', vname: 'Acme Shoes' })
    const { body } = await h.control('GET', '/control/codes/1/6315550000')
    const { code } = body as { code: string }
    expect(code).toMatch(/^\d{6}$/)
    const verified = await client.request<RegisterVerifyResult>({ t: 'register.verify', cc: '1', phone: '6315550000', code })
    expect(verified.waId).toBe('16315550000')
    expect(verified.password.length).toBeGreaterThan(20)

    const login = await client.login(verified.waId, verified.password)
    expect(login).toEqual({ serverTime: h.clock.now(), preKeysLeft: 0 })
    const accounts = (await h.control('GET', '/control/accounts')).body as { accounts: { waId: string; business: boolean; vname: string; connectedShards: number[] }[] }
    expect(accounts.accounts).toEqual([expect.objectContaining({ waId: '16315550000', business: true, vname: 'Acme Shoes', connectedShards: [0] })])
  })

  it('registers a consumer phone without a certificate', async () => {
    h = await Harness.start()
    const phone = await h.register('44', '7700900001')
    expect(phone.waId).toBe('447700900001')
    const { body } = await h.control('GET', '/control/accounts/447700900001')
    expect(body).toMatchObject({ business: false, vname: null, twoStep: false })
  })

  it('refuses a certificate for another number, a tampered one, and a business re-registering without one', async () => {
    h = await Harness.start()
    const client = h.client()
    await client.connect()
    const other = await h.vnameCert('1', '6315559999', 'Acme')
    expect((await rejection(client.request({ t: 'register.request', cc: '1', phone: '6315550000', method: 'sms', cert: other }))).code).toBe('bad_certificate')
    const tampered = await h.vnameCert('1', '6315550000', 'Acme')
    tampered[tampered.length - 1]! ^= 1
    expect((await rejection(client.request({ t: 'register.request', cc: '1', phone: '6315550000', method: 'sms', cert: tampered }))).code).toBe('bad_certificate')

    await h.register('1', '6315550000', 'Acme')
    expect((await rejection(client.request({ t: 'register.request', cc: '1', phone: '6315550000', method: 'voice' }))).code).toBe('bad_certificate')
    expect((await rejection(client.request({ t: 'register.request', cc: '1', phone: '12', method: 'sms' }))).code).toBe('bad_request')
  })

  it('rejects a wrong code and a used code', async () => {
    h = await Harness.start()
    const client = h.client()
    await client.connect()
    await client.request({ t: 'register.request', cc: '1', phone: '5550001', method: 'sms' })
    const code = (await h.server.lastCode('1', '5550001'))!
    const wrong = code === '000000' ? '111111' : '000000'
    expect((await rejection(client.request({ t: 'register.verify', cc: '1', phone: '5550001', code: wrong }))).code).toBe('wrong_code')
    await client.request({ t: 'register.verify', cc: '1', phone: '5550001', code })
    expect((await rejection(client.request({ t: 'register.verify', cc: '1', phone: '5550001', code }))).code).toBe('wrong_code')
  })

  it('answers a retried register.verify id with the same credentials', async () => {
    h = await Harness.start()
    const client = h.client()
    await client.connect()
    await client.request({ t: 'register.request', cc: '1', phone: '5550002', method: 'sms' })
    const code = (await h.server.lastCode('1', '5550002'))!
    const first = await client.request<RegisterVerifyResult>({ t: 'register.verify', id: 'verify-1', cc: '1', phone: '5550002', code })
    const other = h.client()
    await other.connect()
    const retried = await other.request<RegisterVerifyResult>({ t: 'register.verify', id: 'verify-1', cc: '1', phone: '5550002', code })
    expect(retried).toEqual(first)
  })

  it('requires the two-step PIN to register again, and retires the old password', async () => {
    h = await Harness.start()
    const account = await h.register('1', '5550003', 'Pin Co')
    const old = await h.connect(account)
    await old.request({ t: 'account.pin', pin: '123456' })
    expect((await h.control('GET', `/control/accounts/${account.waId}`)).body).toMatchObject({ twoStep: true })

    const client = h.client()
    await client.connect()
    const cert = await h.vnameCert('1', '5550003', 'Pin Co')
    await client.request({ t: 'register.request', cc: '1', phone: '5550003', method: 'sms', cert })
    const code = (await h.server.lastCode('1', '5550003'))!
    expect((await rejection(client.request({ t: 'register.verify', cc: '1', phone: '5550003', code }))).code).toBe('pin_required')
    expect((await rejection(client.request({ t: 'register.verify', cc: '1', phone: '5550003', code, pin: '654321' }))).code).toBe('wrong_pin')

    const oldClosed = nextEvent<number>(old, 'disconnected')
    const again = await client.request<RegisterVerifyResult>({ t: 'register.verify', cc: '1', phone: '5550003', code, pin: '123456' })
    expect(await oldClosed).toBe(CloseCode.AUTH_FAILED)
    expect(again.password).not.toBe(account.password)

    const stale = h.client()
    await stale.connect()
    const closed = nextEvent<number>(stale, 'disconnected')
    expect((await rejection(stale.login(account.waId, account.password))).code).toBe('unauthorized')
    expect(await closed).toBe(CloseCode.AUTH_FAILED)
    await h.connect(again)

    expect((await rejection((await h.connect(again)).request({ t: 'account.pin', pin: '12' }))).code).toBe('bad_request')
  })

  it('answers a session re-registering its own number before closing it', async () => {
    h = await Harness.start()
    const phone = await h.register('1', '5550007')
    const client = await h.connect(phone)
    await client.request({ t: 'register.request', cc: '1', phone: '5550007', method: 'sms' })
    const code = (await h.server.lastCode('1', '5550007'))!
    const closed = nextEvent<number>(client, 'disconnected')
    const again = await client.request<RegisterVerifyResult>({ t: 'register.verify', cc: '1', phone: '5550007', code })
    expect(again.waId).toBe(phone.waId)
    expect(await closed).toBe(CloseCode.AUTH_FAILED)
  })

  it('refuses to register a business number another device holds, unless the request says migrate: true', async () => {
    h = await Harness.start()
    const holder = await h.register('1', '5550100', 'Demo')
    const held = await h.connect(holder)
    await held.request(keyUpload(0, 0, 21))
    const cert = await h.vnameCert('1', '5550100', 'Demo')
    const client = h.client()
    await client.connect()

    // a fresh install (no identity, or another one) is refused and gets no code
    const used = await h.server.lastCode('1', '5550100')
    for (const identityKey of [undefined, new Uint8Array(33).fill(22)]) {
      const refused = await rejection(client.request({ t: 'register.request', cc: '1', phone: '5550100', method: 'sms', cert, identityKey }))
      expect(refused.code).toBe('registered_elsewhere')
      expect(refused.message).toContain('+15550100')
      expect(refused.message).toContain('migrate')
    }
    expect(await h.server.lastCode('1', '5550100')).toBe(used)
    const notBool = { t: 'register.request', cc: '1', phone: '5550100', method: 'sms', cert, migrate: 'yes' }
    expect((await rejection(client.request(notBool as unknown as Parameters<typeof client.request>[0]))).code).toBe('bad_request')
    // nor can it verify with a code the holder asked for
    await client.request({ t: 'register.request', cc: '1', phone: '5550100', method: 'sms', cert, identityKey: new Uint8Array(33).fill(21) })
    const code = (await h.server.lastCode('1', '5550100'))!
    expect((await rejection(client.request({ t: 'register.verify', cc: '1', phone: '5550100', code }))).code).toBe('registered_elsewhere')
    expect((await h.control('GET', '/control/accounts/15550100')).body).toMatchObject({ connectedShards: [0] })

    // the holder itself (same identity) may register again, e.g. after losing its password
    const again = await client.request<RegisterVerifyResult>({ t: 'register.verify', cc: '1', phone: '5550100', code, identityKey: new Uint8Array(33).fill(21) })
    expect(again.waId).toBe('15550100')
    await (await h.connect(again)).request(keyUpload(0, 0, 21))

    // migrate: true moves the number; the old holder's sessions close with AUTH_FAILED
    const old = await h.connect(again)
    const closed = nextEvent<number>(old, 'disconnected')
    await client.request({ t: 'register.request', cc: '1', phone: '5550100', method: 'sms', cert, migrate: true })
    const moved = await client.request<RegisterVerifyResult>({ t: 'register.verify', cc: '1', phone: '5550100', code: (await h.server.lastCode('1', '5550100'))!, migrate: true })
    expect(await closed).toBe(CloseCode.AUTH_FAILED)
    await h.connect(moved)

    // a consumer number moves to a fresh phone, as a reinstalled WhatsApp does
    const phone = await h.register('1', '5550200')
    await (await h.connect(phone)).request(keyUpload(0, 0, 23))
    expect((await h.register('1', '5550200')).waId).toBe('15550200')
  })

  it('answers requests before login with unauthorized and checks contacts after it', async () => {
    h = await Harness.start()
    const a = await h.register('1', '5550004')
    await h.register('1', '5550005')
    const anonymous = h.client()
    await anonymous.connect()
    expect((await rejection(anonymous.request({ t: 'templates.get' }))).code).toBe('unauthorized')

    const client = await h.connect(a)
    const contacts = await client.request<ContactsCheckResult>({ t: 'contacts.check', phones: ['+1 555-0005', '15559999'] })
    expect(contacts.results).toEqual([{ phone: '+1 555-0005', waId: '15550005' }, { phone: '15559999' }])
  })

  it('rejects logins with bad shard parameters, and phones with shards', async () => {
    h = await Harness.start()
    const phone = await h.register('1', '5550006')
    const client = h.client()
    await client.connect()
    expect((await rejection(client.login(phone.waId, phone.password, { shard: 0, shards: 2 }))).code).toBe('bad_request')
  })

  it('protects the control API with the bearer token when one is set', async () => {
    h = await Harness.start({ controlToken: 's3cret' })
    expect((await h.control('GET', '/control/accounts')).status).toBe(401)
    expect((await h.control('GET', '/control/accounts', undefined, { authorization: 'Bearer nope' })).status).toBe(401)
    expect((await h.control('GET', '/control/accounts', undefined, { authorization: 'Bearer s3cret' })).status).toBe(200)
  })
})
