import path from 'node:path'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_SETTINGS } from '../src/domain/settings.js'
import { MediaVolume } from '../src/media/volume.js'
import { createTestDatabase, describeEachDatabase } from './helpers/databases.js'
import { addNumber, buildWebApp, call, createWebTest, FakeBridge, firstError, loginAdmin, VERSION, type WebTest } from './helpers/webapp.js'

describeEachDatabase('webapp settings', (ctx, dialect) => {
  let t: WebTest
  beforeAll(async () => {
    t = await createWebTest(ctx())
  })
  afterAll(async () => t.close())
  const admin = () => ({ bearer: t.admin })

  describe('application', () => {
    it('GET shows the defaults and the number\'s wa_id', async () => {
      const res = await call(t.app, admin(), { method: 'GET', url: '/v1/settings/application' })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({ settings: { application: { ...DEFAULT_SETTINGS, wa_id: t.a.wa_id } }, meta: { api_status: 'stable', version: VERSION } })
    })

    it('PATCH changes only the given fields; DELETE resets', async () => {
      const patch = await call(t.app, admin(), {
        method: 'PATCH', url: '/v1/settings/application',
        payload: { callback_backoff_delay_ms: '5000', sent_status: true, webhooks: { url: 'https://hooks.example.com/x', max_concurrent_requests: 12 }, media: { auto_download: ['image'] } },
      })
      expect(patch.statusCode).toBe(200)
      const app = (await call(t.app, admin(), { method: 'GET', url: '/v1/settings/application' })).json().settings.application
      expect(app).toMatchObject({ callback_backoff_delay_ms: 5000, sent_status: true, media: { auto_download: ['image'] } })
      expect(app.webhooks).toMatchObject({ url: 'https://hooks.example.com/x', max_concurrent_requests: 12, format: 'onprem' })
      expect(app.max_callback_backoff_delay_ms).toBe(900_000)
      await call(t.app, admin(), { method: 'PATCH', url: '/v1/settings/application', payload: { webhooks: { url: null } } })
      expect((await call(t.app, admin(), { method: 'GET', url: '/v1/settings/application' })).json().settings.application.webhooks.url).toBeNull()
      expect((await call(t.app, admin(), { method: 'DELETE', url: '/v1/settings/application' })).statusCode).toBe(200)
      expect((await call(t.app, admin(), { method: 'GET', url: '/v1/settings/application' })).json().settings.application.sent_status).toBe(false)
    })

    it('rejects bad values naming the field', async () => {
      const cases: [object, number, string][] = [
        [{ webhooks: { max_concurrent_requests: 7 } }, 1009, 'webhooks.max_concurrent_requests'],
        [{ webhooks: { url: 'http://example.com/hook' } }, 1009, 'webhooks.url'],
        [{ media: { auto_download: ['gif'] } }, 1009, 'media.auto_download[0]'],
        [{ callback_backoff_delay_ms: 'soon' }, 1009, 'callback_backoff_delay_ms'],
        [{ unknown_thing: true }, 1010, 'unknown_thing'],
        [{ wa_id: '123' }, 1009, 'wa_id'],
        [{ pass_through: true }, 1009, 'pass_through'],
        [{ callback_backoff_delay_ms: 60_000, max_callback_backoff_delay_ms: 30_000 }, 1009, 'max_callback_backoff_delay_ms'],
      ]
      for (const [payload, code, field] of cases) {
        const res = await call(t.app, admin(), { method: 'PATCH', url: '/v1/settings/application', payload })
        expect(res.statusCode, JSON.stringify(payload)).toBe(400)
        expect(firstError(res).code, JSON.stringify(payload)).toBe(code)
        expect(firstError(res).details).toContain(field)
      }
      // http:// to loopback is allowed in the dev profile the tests run with
      expect((await call(t.app, admin(), { method: 'PATCH', url: '/v1/settings/application', payload: { webhooks: { url: 'http://127.0.0.1:8080/h' } } })).statusCode).toBe(200)
      await call(t.app, admin(), { method: 'DELETE', url: '/v1/settings/application' })
    })

    it('media providers: add, replace by name, list, delete; secrets sealed at rest', async () => {
      const url = '/v1/settings/application/media/providers'
      const add = await call(t.app, admin(), { method: 'POST', url, payload: [{ name: 'cdn', type: 'www', config: { bearer: 'tok-123' } }] })
      expect(add.statusCode).toBe(200)
      await call(t.app, admin(), { method: 'POST', url, payload: [{ name: 'files', type: 'www', config: { basic: { username: 'u', password: 'p' } } }, { name: 'cdn', type: 'www', config: { bearer: 'tok-456' } }] })
      const list = await call(t.app, admin(), { method: 'GET', url })
      expect(list.json().settings.application.media.providers).toEqual([
        { name: 'cdn', type: 'www', config: { bearer: 'tok-456' } },
        { name: 'files', type: 'www', config: { basic: { username: 'u', password: 'p' } } },
      ])
      const raw = await ctx().database.db.selectFrom('number_profiles').select('media_providers').where('phone_number_id', '=', t.a.id).executeTakeFirst()
      expect(Buffer.from(raw!.media_providers!).includes(Buffer.from('tok-456'))).toBe(false)
      // a send through the provider works, through an unknown one does not
      const ok = await call(t.app, admin(), { method: 'POST', url: '/v1/messages', payload: { to: '16315551234', type: 'image', image: { link: 'https://cdn.example/x.png', provider: { name: 'cdn' } } } })
      expect(ok.statusCode).toBe(201)
      const both = await call(t.app, admin(), { method: 'POST', url, payload: [{ name: 'x', config: { bearer: 'a', basic: { username: 'u', password: 'p' } } }] })
      expect(firstError(both).details).toContain('[0].config')
      expect((await call(t.app, admin(), { method: 'DELETE', url: `${url}/cdn` })).statusCode).toBe(200)
      expect((await call(t.app, admin(), { method: 'DELETE', url: `${url}/cdn` })).statusCode).toBe(404)
      const gone = await call(t.app, admin(), { method: 'POST', url: '/v1/messages', payload: { to: '16315551234', type: 'image', image: { link: 'https://cdn.example/x.png', provider: { name: 'cdn' } } } })
      expect(firstError(gone).details).toContain('provider.name')
    })

    it('two-step verification goes to the CoreApp', async () => {
      expect((await call(t.app, admin(), { method: 'POST', url: '/v1/settings/account/two-step', payload: { pin: '123456' } })).statusCode).toBe(200)
      expect(t.bridge.last('setPin')).toEqual([t.a.id, '123456'])
      const bad = await call(t.app, admin(), { method: 'POST', url: '/v1/settings/account/two-step', payload: { pin: '12345' } })
      expect(firstError(bad)).toMatchObject({ code: 1009 })
      expect(firstError(bad).details).toContain("'pin'")
      await call(t.app, admin(), { method: 'DELETE', url: '/v1/settings/account/two-step' })
      expect(t.bridge.last('setPin')).toEqual([t.a.id, null])
    })
  })

  describe('webhook secrets', () => {
    const secretUrl = 'https://hook-user:s3cret-pw@hooks.example.com/a'
    const maskedUrl = 'https://hook-user:******@hooks.example.com/a'
    const stored = async () => t.store.numbers.settings((await t.store.numbers.get(t.a.id))!).webhooks

    it('answers the URL password and header values masked, on every route that shows them', async () => {
      const k = { d360: t.keyA }
      const set = await call(t.app, k, {
        method: 'POST', url: '/v1/configs/webhook', payload: { url: secretUrl, headers: { Authorization: 'Bearer tok-xyz', 'X-Tenant': 't1' } },
      })
      expect(set.statusCode, set.body).toBe(200)
      const masked = { url: maskedUrl, headers: { Authorization: '******', 'X-Tenant': '******' } }
      expect(set.json()).toMatchObject(masked)
      const got = await call(t.app, k, { method: 'GET', url: '/v1/configs/webhook' })
      expect(got.json()).toMatchObject(masked)
      const app = await call(t.app, admin(), { method: 'GET', url: '/v1/settings/application' })
      expect(app.json().settings.application.webhooks).toMatchObject(masked)
      for (const res of [set, got, app]) {
        expect(res.body).not.toContain('s3cret-pw')
        expect(res.body).not.toContain('tok-xyz')
      }
      // the dispatcher still gets the real ones
      expect(await stored()).toMatchObject({ url: secretUrl, headers: { Authorization: 'Bearer tok-xyz', 'X-Tenant': 't1' } })
      // a user name alone is the credential: masked too
      await call(t.app, k, { method: 'POST', url: '/v1/configs/webhook', payload: { url: 'https://tok3n@hooks.example.com/b' } })
      expect((await call(t.app, k, { method: 'GET', url: '/v1/configs/webhook' })).json().url).toBe('https://******@hooks.example.com/b')
    })

    it('sending the masked values back keeps the stored secrets; new values replace them', async () => {
      const k = { d360: t.keyA }
      await call(t.app, k, { method: 'POST', url: '/v1/configs/webhook', payload: { url: secretUrl, headers: { Authorization: 'Bearer tok-xyz' } } })
      const echo = await call(t.app, k, { method: 'POST', url: '/v1/configs/webhook', payload: { url: maskedUrl, headers: { Authorization: '******', 'X-New': 'n1' } } })
      expect(echo.statusCode, echo.body).toBe(200)
      expect(await stored()).toMatchObject({ url: secretUrl, headers: { Authorization: 'Bearer tok-xyz', 'X-New': 'n1' } })
      const patch = await call(t.app, admin(), { method: 'PATCH', url: '/v1/settings/application', payload: { webhooks: { headers: { Authorization: '******', 'X-Other': 'o' } } } })
      expect(patch.statusCode, patch.body).toBe(200)
      expect((await stored()).headers).toEqual({ Authorization: 'Bearer tok-xyz', 'X-Other': 'o' })
      await call(t.app, admin(), { method: 'PATCH', url: '/v1/settings/application', payload: { webhooks: { headers: { Authorization: 'Bearer rotated' } } } })
      expect((await stored()).headers).toEqual({ Authorization: 'Bearer rotated' })
      // a mask for a header or password that is not stored is refused, naming it
      const unknown = await call(t.app, k, { method: 'POST', url: '/v1/configs/webhook', payload: { url: maskedUrl.replace('/a', '/c').replace('hooks.', 'other.'), headers: { 'X-Missing': '******' } } })
      expect(unknown.statusCode).toBe(400)
      expect(firstError(unknown)).toMatchObject({ code: 1009 })
      expect(firstError(unknown).details).toMatch(/'(url|headers\.X-Missing)'/)
      await call(t.app, admin(), { method: 'DELETE', url: '/v1/settings/application' })
    })
  })

  describe('profile', () => {
    it('about: 139 characters at most', async () => {
      expect((await call(t.app, { d360: t.keyA }, { method: 'GET', url: '/v1/settings/profile/about' })).json().settings.profile.about.text).toEqual(expect.any(String))
      expect((await call(t.app, { d360: t.keyA }, { method: 'PATCH', url: '/v1/settings/profile/about', payload: { text: 'Open 9–5 ☀️' } })).statusCode).toBe(200)
      expect((await call(t.app, { d360: t.keyA }, { method: 'GET', url: '/v1/settings/profile/about' })).json().settings.profile.about.text).toBe('Open 9–5 ☀️')
      const long = await call(t.app, { d360: t.keyA }, { method: 'PATCH', url: '/v1/settings/profile/about', payload: { text: 'x'.repeat(140) } })
      expect(firstError(long)).toMatchObject({ code: 1009 })
      expect(firstError(long).details).toContain("'text'")
    })

    it('business profile: merged updates within the limits', async () => {
      const url = '/v1/settings/business/profile'
      await call(t.app, { d360: t.keyA }, { method: 'POST', url, payload: { address: '1 Main St', email: 'shop@example.com', websites: ['https://example.com'] } })
      await call(t.app, { d360: t.keyA }, { method: 'POST', url, payload: { description: 'We sell things', vertical: 'RETAIL' } })
      expect((await call(t.app, { d360: t.keyA }, { method: 'GET', url })).json().settings.business.profile).toEqual({
        address: '1 Main St', description: 'We sell things', email: 'shop@example.com', vertical: 'RETAIL', websites: ['https://example.com'],
      })
      const cases: [object, string][] = [
        [{ websites: ['https://a.example', 'https://b.example', 'https://c.example'] }, 'websites'],
        [{ websites: ['example.com'] }, 'websites[0]'],
        [{ email: 'not-an-email' }, 'email'],
        [{ description: 'x'.repeat(257) }, 'description'],
      ]
      for (const [payload, field] of cases) {
        const res = await call(t.app, { d360: t.keyA }, { method: 'POST', url, payload })
        expect(firstError(res).code, field).toBe(1009)
        expect(firstError(res).details).toContain(field)
      }
    })
  })

  describe('backup and restore', () => {
    it('round-trips settings and registration; a wrong password is refused', async () => {
      await call(t.app, admin(), { method: 'PATCH', url: '/v1/settings/application', payload: { sent_status: false, webhooks: { url: 'https://hooks.example.com/backup' } } })
      await call(t.app, admin(), { method: 'PATCH', url: '/v1/settings/profile/about', payload: { text: 'backed up' } })
      await t.store.numbers.update(t.a.id, { cert: 'CERT-A', network_secret: ctx().sealer.seal('net-secret'), shard_count: 2 })
      const backup = await call(t.app, admin(), { method: 'POST', url: '/v1/settings/backup', payload: { password: 'b4ckup!' } })
      expect(backup.statusCode).toBe(200)
      const data = backup.json().settings.data as string
      expect(Buffer.from(data, 'base64').includes(Buffer.from('hooks.example.com'))).toBe(false)

      const wrong = await call(t.app, admin(), { method: 'POST', url: '/v1/settings/restore', payload: { data, password: 'nope' } })
      expect(wrong.statusCode).toBe(400)
      expect(firstError(wrong)).toMatchObject({ code: 1005 })
      expect(firstError(wrong).details).toContain('password')
      const garbage = await call(t.app, admin(), { method: 'POST', url: '/v1/settings/restore', payload: { data: 'aGVsbG8=', password: 'b4ckup!' } })
      expect(firstError(garbage)).toMatchObject({ code: 1009 })
      expect(firstError(garbage).details).toContain("'data'")

      // restore onto a fresh, unregistered number (a new machine)
      const fresh = await addNumber(t.store, '900000001', '49', '1500000', false)
      const freshAdmin = await t.store.apiKeys.create(fresh.id, 'admin', 'restore')
      const restored = await call(t.app, { d360: freshAdmin }, { method: 'POST', url: '/v1/settings/restore', payload: { data, password: 'b4ckup!' } })
      expect(restored.statusCode, restored.body).toBe(409)
      expect(firstError(restored)).toMatchObject({ code: 1004 })
      // the original number is still here; restoring onto it (same wa_id) works
      await t.store.numbers.update(t.a.id, { cert: null, shard_count: 1, settings: '{}' })
      const same = await call(t.app, admin(), { method: 'POST', url: '/v1/settings/restore', payload: { data, password: 'b4ckup!' } })
      expect(same.statusCode).toBe(200)
      const row = (await t.store.numbers.get(t.a.id))!
      expect(row).toMatchObject({ cert: 'CERT-A', shard_count: 2 })
      expect(ctx().sealer.open(row.network_secret!).toString()).toBe('net-secret')
      expect(t.store.numbers.settings(row)).toMatchObject({ sent_status: false, webhooks: { url: 'https://hooks.example.com/backup' } })
      expect((await t.store.profiles.get(t.a.id)).about).toBe('backed up')
      // a registered number of another wa_id refuses it
      const otherAdmin = await t.store.apiKeys.create(t.b.id, 'admin', 'b')
      const other = await call(t.app, { d360: otherAdmin }, { method: 'POST', url: '/v1/settings/restore', payload: { data, password: 'b4ckup!' } })
      expect(firstError(other)).toMatchObject({ code: 1009 })
      const unregistered = await call(t.app, { d360: freshAdmin }, { method: 'POST', url: '/v1/settings/backup', payload: { password: 'x' } })
      expect(firstError(unregistered)).toMatchObject({ code: 1011 })
      await t.store.numbers.update(t.a.id, { shard_count: 1 })
    })

    it('restores onto a new machine with its own database and at-rest key', async () => {
      await t.store.numbers.update(t.a.id, { cert: 'CERT-A', network_secret: ctx().sealer.seal('net-secret') })
      const data = (await call(t.app, admin(), { method: 'POST', url: '/v1/settings/backup', payload: { password: 'm0ve!' } })).json().settings.data
      const other = await createTestDatabase(dialect)
      const app = await buildWebApp({
        store: other.store, clock: other.clock, bridge: new FakeBridge(other.store), version: VERSION, registry: new Registry(), dataDir: other.dir,
        media: new MediaVolume({ root: path.join(other.dir, 'media'), key: Buffer.alloc(32, 1), store: other.store }),
      })
      try {
        const token = await loginAdmin(app)
        const res = await call(app, { bearer: token }, { method: 'POST', url: '/v1/settings/restore', payload: { data, password: 'm0ve!' } })
        expect(res.statusCode, res.body).toBe(200)
        const row = (await other.store.numbers.getByWaId(t.a.wa_id))!
        expect(row).toMatchObject({ cert: 'CERT-A', status: 'registered' })
        expect(other.sealer.open(row.network_secret!).toString()).toBe('net-secret')
        const health = await call(app, { bearer: token }, { method: 'GET', url: '/v1/settings/application' })
        expect(health.json().settings.application.wa_id).toBe(t.a.wa_id)
      } finally {
        await app.close()
        await other.cleanup()
      }
    })
  })

  describe('account', () => {
    it('registers a new number: 202 with the vname, verify, then 201 when already registered', async () => {
      const body = { cc: '34', phone_number: '600111222', method: 'SMS', cert: 'Q0VSVA==' }
      const res = await call(t.app, admin(), { method: 'POST', url: '/v1/account', payload: body })
      expect(res.statusCode).toBe(202)
      expect(res.json().account).toEqual([{ vname: 'Wabox Test Shop' }])
      const created = await t.store.numbers.getByWaId('34600111222')
      expect(created?.status).toBe('pending')
      expect(t.bridge.last('requestCode')).toEqual([created!.id, { cc: '34', phoneNumber: '600111222', method: 'sms', cert: 'Q0VSVA==' }])
      const wrong = await call(t.app, admin(), { method: 'POST', url: '/v1/account/verify', payload: { code: '000000' } })
      expect(firstError(wrong)).toMatchObject({ code: 1009 })
      expect((await call(t.app, admin(), { method: 'POST', url: '/v1/account/verify', payload: { code: '123456' } })).statusCode).toBe(201)
      expect((await t.store.numbers.get(created!.id))?.status).toBe('registered')
      expect((await call(t.app, admin(), { method: 'POST', url: '/v1/account', payload: body })).statusCode).toBe(201)
      const badMethod = await call(t.app, admin(), { method: 'POST', url: '/v1/account', payload: { ...body, method: 'pigeon' } })
      expect(firstError(badMethod).details).toContain("'method'")
      const missing = await call(t.app, admin(), { method: 'POST', url: '/v1/account', payload: { cc: '34', phone_number: '600111222', method: 'sms' } })
      expect(firstError(missing)).toMatchObject({ code: 1008, details: "Missing required parameter 'cert'" })
    })

    it('a number-bound caller can only act on its own number; shards', async () => {
      const keyAdminB = await t.store.apiKeys.create(t.b.id, 'admin', 'b-admin')
      const other = await call(t.app, { d360: keyAdminB }, { method: 'POST', url: '/v1/account', payload: { cc: '1', phone_number: '5550009999', method: 'sms', cert: 'eA==' } })
      expect(firstError(other).details).toContain(t.b.wa_id)
      // shards are deployment capacity: the number's own admin key may read them, only the deployment admin set them
      const tenant = await call(t.app, { d360: keyAdminB }, { method: 'POST', url: '/v1/account/shards', payload: { cc: t.b.cc, phone_number: t.b.number, shards: 4 } })
      expect(tenant.statusCode).toBe(403)
      const shards = await call(t.app, admin(), { method: 'POST', url: '/v1/account/shards', payload: { cc: t.b.cc, phone_number: t.b.number, shards: 4 } })
      expect(shards.statusCode).toBe(201)
      expect(t.bridge.last('setShards')).toEqual([t.b.id, 4, undefined])
      expect((await call(t.app, { d360: keyAdminB }, { method: 'GET', url: '/v1/account/shards' })).json().account).toEqual({ shards: 4 })
      const three = await call(t.app, admin(), { method: 'POST', url: '/v1/account/shards', payload: { cc: t.b.cc, phone_number: t.b.number, shards: 3 } })
      expect(firstError(three).details).toContain('1, 2, 4, 8, 16, 32')
    })
  })
})
