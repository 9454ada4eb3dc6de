import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { TestClock } from '../src/clock.js'
import { secretDigest } from '../src/store/users.js'
import { TtlCache } from '../src/webapp/ttl-cache.js'
import { describeEachDatabase } from './helpers/databases.js'
import { apiKey, call, createWebTest, firstError, type WebTest } from './helpers/webapp.js'

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100, 4)])
const TEXT = { to: '16315551234', text: { body: 'hi' } }
const VIA_CDN = { to: '16315551234', type: 'image', image: { link: 'https://cdn.example/x.png', provider: { name: 'cdn' } } }

describeEachDatabase('webapp request caches', (ctx) => {
  let t: WebTest
  beforeAll(async () => {
    t = await createWebTest(ctx())
  })
  afterAll(async () => t.close())

  const admin = () => ({ bearer: t.admin })
  const send = (auth: { d360: string } | { bearer: string }, payload: object = TEXT) =>
    call(t.app, auth, { method: 'POST', url: '/v1/messages', payload })
  /** Lets every cached value expire, so a test starts from what the database holds. */
  const expire = () => ctx().clock.tick(1000)

  it('repeated sends look the key, the number and its media providers up once per interval', async () => {
    const key = await apiKey(t.store, t.a.id, 'd360')
    expire()
    const spies = [
      vi.spyOn(t.store.apiKeys, 'verify'),
      vi.spyOn(t.store.numbers, 'get'),
      vi.spyOn(t.store.profiles, 'mediaProviders'),
    ]
    try {
      for (let i = 0; i < 5; i++) expect((await send({ d360: key })).statusCode).toBe(201)
      for (const spy of spies) expect(spy).toHaveBeenCalledTimes(1)
      expire()
      expect((await send({ d360: key })).statusCode).toBe(201)
      for (const spy of spies) expect(spy).toHaveBeenCalledTimes(2)
    } finally {
      for (const spy of spies) spy.mockRestore()
    }
  })

  it('a key revoked by another process keeps working for at most the 1 s cache interval', async () => {
    const key = await apiKey(t.store, t.a.id, 'd360')
    expect((await send({ d360: key })).statusCode).toBe(201)
    // as `wabox keys revoke` would, from its own process
    expect(await t.store.apiKeys.revoke(key)).toBe(true)
    // sends, uploads and read marks are per-message traffic: they do not refresh the caches
    expect((await send({ d360: key })).statusCode).toBe(201)
    const upload = await call(t.app, { d360: key }, { method: 'POST', url: '/v1/media', headers: { 'content-type': 'image/png' }, payload: PNG })
    expect(upload.statusCode).toBe(201)
    ctx().clock.tick(999)
    expect((await send({ d360: key })).statusCode).toBe(201)
    ctx().clock.tick(1)
    const res = await send({ d360: key })
    expect(res.statusCode).toBe(401)
    expect(firstError(res).details).toBe('Invalid api_key')
  })

  it('any other write through this API makes the next request read everything afresh', async () => {
    const key = await apiKey(t.store, t.a.id, 'd360')
    expect((await send({ d360: key })).statusCode).toBe(201)
    await t.store.apiKeys.revoke(key)
    const patch = await call(t.app, admin(), { method: 'PATCH', url: '/v1/settings/application', payload: { sent_status: true } })
    expect(patch.statusCode).toBe(200)
    expect((await send({ d360: key })).statusCode).toBe(401)
  })

  it('an unknown key is not remembered: a key created meanwhile works on the next request', async () => {
    const secret = 'wbx_created-by-another-process'
    expect((await send({ d360: secret })).statusCode).toBe(401)
    await ctx().database.db.insertInto('api_keys').values({
      key_hash: secretDigest(secret), phone_number_id: t.a.id, scope: 'd360', label: 'later', created_at: ctx().clock.now(), revoked_at: null,
    }).execute()
    expect((await send({ d360: secret })).statusCode).toBe(201)
  })

  it('a setting changed through PATCH /v1/settings/application applies to the next send', async () => {
    expire()
    await t.store.contacts.recordIdentity(t.a.id, '16315550007', 'UKD6Y/5SqDU=', false)
    const toChanged = { to: '16315550007', text: { body: 'hi' } }
    expect((await send({ d360: t.keyA }, toChanged)).statusCode).toBe(201)
    const on = await call(t.app, admin(), { method: 'PATCH', url: '/v1/settings/application', payload: { show_security_notifications: true } })
    expect(on.statusCode).toBe(200)
    const blocked = await send({ d360: t.keyA }, toChanged)
    expect(blocked.statusCode).toBe(400)
    expect(firstError(blocked)).toMatchObject({ code: 1028 })
    expect((await call(t.app, admin(), { method: 'DELETE', url: '/v1/settings/application' })).statusCode).toBe(200)
    expect((await send({ d360: t.keyA }, toChanged)).statusCode).toBe(201)
  })

  it('media providers added or removed through the API apply to the next send', async () => {
    const url = '/v1/settings/application/media/providers'
    expire()
    expect(firstError(await send({ d360: t.keyA }, VIA_CDN)).details).toContain('provider.name')
    const add = await call(t.app, admin(), { method: 'POST', url, payload: [{ name: 'cdn', type: 'www', config: { bearer: 'tok' } }] })
    expect(add.statusCode).toBe(200)
    expect((await send({ d360: t.keyA }, VIA_CDN)).statusCode).toBe(201)
    expect((await call(t.app, admin(), { method: 'DELETE', url: `${url}/cdn` })).statusCode).toBe(200)
    expect(firstError(await send({ d360: t.keyA }, VIA_CDN)).details).toContain('provider.name')
  })

  it('requests rejected before authentication do not refresh the caches', async () => {
    const key = await apiKey(t.store, t.a.id, 'd360')
    expect((await send({ d360: key })).statusCode).toBe(201)
    await t.store.apiKeys.revoke(key)
    const anonymous = await t.app.inject({ method: 'PATCH', url: '/v1/settings/application', payload: { sent_status: true } })
    expect(anonymous.statusCode).toBe(401)
    expect((await send({ d360: key })).statusCode).toBe(201)
    expire()
    expect((await send({ d360: key })).statusCode).toBe(401)
  })
})

describe('TtlCache', () => {
  it('keeps a value for the TTL on the injected clock', async () => {
    const clock = new TestClock()
    let loads = 0
    const cache = new TtlCache(clock, 1000, async (key) => `${key}${++loads}`)
    expect(await cache.get('a')).toBe('a1')
    clock.tick(999)
    expect(await cache.get('a')).toBe('a1')
    clock.tick(1)
    expect(await cache.get('a')).toBe('a2')
    cache.clear()
    expect(await cache.get('a')).toBe('a3')
  })

  it('shares one load between concurrent misses; keeps neither undefined nor failures', async () => {
    const clock = new TestClock()
    const answers: (string | undefined | Error)[] = ['one', undefined, new Error('down'), 'two']
    const load = vi.fn(async (key: string) => {
      const next = answers.shift()
      if (next instanceof Error) throw next
      return next === undefined ? undefined : `${key}:${next}`
    })
    const cache = new TtlCache(clock, 1000, load)
    expect(await Promise.all([cache.get('a'), cache.get('a')])).toEqual(['a:one', 'a:one'])
    expect(load).toHaveBeenCalledTimes(1)
    expect(await cache.get('b')).toBeUndefined()
    await expect(cache.get('b')).rejects.toThrow('down')
    expect(await cache.get('b')).toBe('b:two')
  })

  it('does not store what a load in flight during clear() read', async () => {
    const clock = new TestClock()
    let value = 'old'
    let release: () => void = () => undefined
    const cache = new TtlCache(clock, 1000, async () => {
      const read = value
      await new Promise<void>((resolve) => { release = resolve })
      return read
    })
    const before = cache.get('k')
    value = 'new'
    cache.clear()
    release()
    expect(await before).toBe('old')
    const after = cache.get('k')
    release()
    expect(await after).toBe('new')
  })

  it('starts over when full, so memory stays bounded', async () => {
    const clock = new TestClock()
    const load = vi.fn(async (key: string) => key)
    const cache = new TtlCache(clock, 1000, load, 3)
    for (const key of ['a', 'b', 'c']) await cache.get(key)
    await cache.get('a')
    expect(load).toHaveBeenCalledTimes(3)
    await cache.get('d')
    await cache.get('a')
    expect(load).toHaveBeenCalledTimes(5)
  })
})
