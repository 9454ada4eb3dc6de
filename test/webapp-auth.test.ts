import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeEachDatabase } from './helpers/databases.js'
import { ADMIN_PASSWORD, basic, call, createWebTest, firstError, VERSION, type WebTest } from './helpers/webapp.js'

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(200, 1)])

describeEachDatabase('webapp auth, users and keys', (ctx) => {
  let t: WebTest
  beforeAll(async () => {
    t = await createWebTest(ctx())
  })
  afterAll(async () => t.close())

  const login = (user: string, password: string, body?: object) =>
    t.app.inject({ method: 'POST', url: '/v1/users/login', headers: { authorization: basic(user, password) }, ...(body ? { payload: body } : {}) })

  describe('login', () => {
    it('the default admin/secret must be changed on the first login (1024)', async () => {
      // createWebTest changed it already; put the deployment back in its first-start state
      expect((await login('admin', 'secret')).statusCode).toBe(401)
      await t.store.users.setPassword('admin', 'secret')
      await ctx().database.db.updateTable('users').set({ password_changed: 0 }).where('username', '=', 'admin').execute()
      const res = await login('admin', 'secret')
      expect(res.statusCode).toBe(401)
      expect(firstError(res)).toMatchObject({ code: 1024, title: 'Password Change Required' })
      expect(firstError(res).details).toContain('new_password')

      const weak = await login('admin', 'secret', { new_password: 'password' })
      expect(weak.statusCode).toBe(400)
      expect(firstError(weak)).toMatchObject({ code: 1009 })
      expect(firstError(weak).details).toContain("'new_password'")

      const ok = await login('admin', 'secret', { new_password: ADMIN_PASSWORD })
      expect(ok.statusCode).toBe(200)
      const body = ok.json()
      expect(body.meta).toEqual({ api_status: 'stable', version: VERSION })
      expect(body.users[0].token).toEqual(expect.any(String))
      // 7 days after the TestClock's now, in the On-Prem format
      const expected = new Date(ctx().clock.now() + 7 * 86_400_000).toISOString().slice(0, 19).replace('T', ' ') + '+00:00'
      expect(body.users[0].expires_after).toBe(expected)
      expect((await login('admin', 'secret')).statusCode).toBe(401)
      expect((await login('admin', ADMIN_PASSWORD)).statusCode).toBe(200)
    })

    it('rejects missing and wrong Basic credentials with 401 / 1005', async () => {
      const none = await t.app.inject({ method: 'POST', url: '/v1/users/login' })
      expect(none.statusCode).toBe(401)
      expect(firstError(none)).toMatchObject({ code: 1005, title: 'Access denied' })
      const wrong = await login('admin', 'Wr0ng!pass')
      expect(wrong.statusCode).toBe(401)
      expect(firstError(wrong).details).toBe('Invalid username or password')
      expect((await login('nobody', 'Wr0ng!pass')).statusCode).toBe(401)
      // PostgreSQL cannot compare text with NUL: a 401 like any unknown name, not a 500
      const nul = await login('\0x', 'y')
      expect(nul.statusCode).toBe(401)
      expect(firstError(nul)).toMatchObject({ code: 1005, details: 'Invalid username or password' })
    })

    it('tokens expire after 7 days', async () => {
      const token = (await login('admin', ADMIN_PASSWORD)).json().users[0].token as string
      ctx().clock.tick(7 * 86_400_000 - 1000)
      expect((await call(t.app, { bearer: token }, { method: 'GET', url: '/v1/health' })).statusCode).toBe(200)
      ctx().clock.tick(2000)
      const res = await call(t.app, { bearer: token }, { method: 'GET', url: '/v1/health' })
      expect(res.statusCode).toBe(401)
      expect(firstError(res).details).toContain('expired')
      t.admin = (await login('admin', ADMIN_PASSWORD)).json().users[0].token
    })

    it('logout revokes only the token used', async () => {
      const one = (await login('admin', ADMIN_PASSWORD)).json().users[0].token as string
      const two = (await login('admin', ADMIN_PASSWORD)).json().users[0].token as string
      expect((await call(t.app, { bearer: one }, { method: 'POST', url: '/v1/users/logout' })).statusCode).toBe(200)
      expect((await call(t.app, { bearer: one }, { method: 'GET', url: '/v1/health' })).statusCode).toBe(401)
      expect((await call(t.app, { bearer: two }, { method: 'GET', url: '/v1/health' })).statusCode).toBe(200)
    })
  })

  describe('users', () => {
    it('the admin creates, reads, updates and deletes users; roles are reported', async () => {
      const admin = { bearer: t.admin }
      const created = await call(t.app, admin, { method: 'POST', url: '/v1/users', payload: { username: 'alice', password: 'Al1ce!pass' } })
      expect(created.statusCode).toBe(201)
      expect(created.json().users).toEqual([{ username: 'alice' }])
      const dup = await call(t.app, admin, { method: 'POST', url: '/v1/users', payload: { username: 'alice', password: 'Al1ce!pass' } })
      expect(firstError(dup)).toMatchObject({ code: 1014, details: 'Unable to create user. Already exist?' })

      const read = await call(t.app, admin, { method: 'GET', url: '/v1/users/alice' })
      expect(read.json().users).toEqual([{ ROLES: 'ROLE_USER', username: 'alice' }])
      expect((await call(t.app, admin, { method: 'GET', url: '/v1/users/admin' })).json().users[0].ROLES).toBe('ROLE_ADMIN')

      const alice = (await login('alice', 'Al1ce!pass')).json().users[0].token as string
      // a user may change its own password but not touch others or admin-only endpoints
      expect((await call(t.app, { bearer: alice }, { method: 'PUT', url: '/v1/users/alice', payload: { password: 'N3w!alice' } })).statusCode).toBe(200)
      expect((await call(t.app, { bearer: alice }, { method: 'GET', url: '/v1/users/admin' })).statusCode).toBe(403)
      const settings = await call(t.app, { bearer: alice }, { method: 'GET', url: '/v1/settings/application' })
      expect(settings.statusCode).toBe(403)
      expect(firstError(settings)).toMatchObject({ code: 1005 })
      expect((await call(t.app, { bearer: alice }, { method: 'POST', url: '/v1/users', payload: { username: 'mallory', password: 'M4llory!x' } })).statusCode).toBe(403)

      const deleted = await call(t.app, admin, { method: 'DELETE', url: '/v1/users/alice' })
      expect(deleted.json().users).toEqual([{ username: 'alice' }])
      // deleting the user revoked its tokens
      expect((await call(t.app, { bearer: alice }, { method: 'GET', url: '/v1/health' })).statusCode).toBe(401)
      expect((await call(t.app, admin, { method: 'GET', url: '/v1/users/alice' })).statusCode).toBe(404)
    })

    it('enforces the username and password policies and protects the admin account', async () => {
      const admin = { bearer: t.admin }
      const short = await call(t.app, admin, { method: 'POST', url: '/v1/users', payload: { username: 'bob', password: 'B0b!bob12' } })
      expect(firstError(short)).toMatchObject({ code: 1009 })
      expect(firstError(short).details).toContain("'username'")
      for (const password of ['short1!A', 'nouppercase1!', 'NOLOWERCASE1!', 'NoDigits!!', 'NoSpecial123']) {
        const res = await call(t.app, admin, { method: 'POST', url: '/v1/users', payload: { username: 'bobby', password } })
        expect(res.statusCode, password).toBe(password === 'short1!A' ? 201 : 400)
        if (res.statusCode === 201) await call(t.app, admin, { method: 'DELETE', url: '/v1/users/bobby' })
      }
      const missing = await call(t.app, admin, { method: 'POST', url: '/v1/users', payload: { username: 'bobby' } })
      expect(firstError(missing)).toMatchObject({ code: 1008, details: "Missing required parameter 'password'" })
      const del = await call(t.app, admin, { method: 'DELETE', url: '/v1/users/admin' })
      expect(del.statusCode).toBe(403)
    })

    it('a user bound to number B acts on B, an unbound admin on the default number A', async () => {
      const admin = { bearer: t.admin }
      await call(t.app, admin, { method: 'POST', url: '/v1/users', payload: { username: 'bee-ops', password: 'B33!opsx', phone_number_id: t.b.id } })
      const bee = (await login('bee-ops', 'B33!opsx')).json().users[0].token as string
      const about = await call(t.app, { bearer: bee }, { method: 'PATCH', url: '/v1/settings/profile/about', payload: { text: 'I am B' } })
      expect(about.statusCode).toBe(200)
      expect((await t.store.profiles.get(t.b.id)).about).toBe('I am B')
      expect((await t.store.profiles.get(t.a.id)).about).not.toBe('I am B')
      const unknown = await call(t.app, admin, { method: 'POST', url: '/v1/users', payload: { username: 'ghost', password: 'Gh0st!xyz', phone_number_id: 'nope' } })
      expect(firstError(unknown).details).toContain('phone_number_id')
    })
  })

  describe('API keys', () => {
    it('rejects unknown keys and missing credentials with 401', async () => {
      const bad = await call(t.app, { d360: 'wbx_nope' }, { method: 'GET', url: '/v1/health' })
      expect(bad.statusCode).toBe(401)
      expect(firstError(bad)).toMatchObject({ code: 1005, details: 'Invalid api_key' })
      const none = await t.app.inject({ method: 'GET', url: '/v1/health' })
      expect(none.statusCode).toBe(401)
      expect(firstError(none).details).toContain('Missing credentials')
      const revoked = await t.store.apiKeys.create(t.a.id, 'd360', 'old')
      await t.store.apiKeys.revoke(revoked)
      expect((await call(t.app, { d360: revoked }, { method: 'GET', url: '/v1/health' })).statusCode).toBe(401)
    })

    it('stores keys hashed', async () => {
      const rows = await ctx().database.db.selectFrom('api_keys').select('key_hash').execute()
      expect(rows.some((r) => r.key_hash.includes(t.keyA))).toBe(false)
      expect(await t.store.apiKeys.verify(t.keyA)).toMatchObject({ phoneNumberId: t.a.id, scope: 'd360' })
    })

    it('a D360 key gets 403 / 1005 on restricted endpoints', async () => {
      const restricted: [string, string][] = [
        ['GET', '/v1/settings/application'], ['PATCH', '/v1/settings/application'], ['DELETE', '/v1/settings/application'],
        ['GET', '/v1/settings/application/media/providers'], ['POST', '/v1/settings/backup'], ['POST', '/v1/settings/restore'],
        ['POST', '/v1/settings/account/two-step'], ['POST', '/v1/account'], ['POST', '/v1/account/verify'], ['GET', '/v1/account/shards'],
        ['POST', '/v1/certificates/external'], ['GET', '/v1/certificates/external/ca'], ['GET', '/v1/certificates/webhooks/ca'],
        ['GET', '/metrics'], ['GET', '/v1/stats/app'], ['GET', '/v1/stats/db'], ['GET', '/v1/support'],
        ['POST', '/v1/users'], ['GET', '/v1/users/admin'], ['POST', '/v1/users/logout'],
      ]
      for (const [method, url] of restricted) {
        const res = await call(t.app, { d360: t.keyA }, { method: method as 'GET', url, payload: {} })
        expect(res.statusCode, `${method} ${url}`).toBe(403)
        expect(firstError(res), `${method} ${url}`).toMatchObject({ code: 1005, title: 'Access denied' })
      }
      expect(firstError(await call(t.app, { d360: t.keyA }, { method: 'GET', url: '/v1/support' })).details).toContain('D360-API-KEY')
    })

    it('a D360 key works on its number: health, profile, webhook config, phone number', async () => {
      const k = { d360: t.keyA }
      expect((await call(t.app, k, { method: 'GET', url: '/v1/health' })).json().health).toEqual({ gateway_status: 'connected' })
      const hook = await call(t.app, k, {
        method: 'POST', url: '/v1/configs/webhook', payload: { url: 'https://hooks.example.com/a', headers: { Authorization: 'Basic dTpw' } },
      })
      expect(hook.statusCode).toBe(200)
      expect(hook.json()).toMatchObject({ url: 'https://hooks.example.com/a', headers: { Authorization: '******' } })
      expect((await call(t.app, k, { method: 'GET', url: '/v1/configs/webhook' })).json()).toMatchObject({ url: 'https://hooks.example.com/a' })
      const settings = t.store.numbers.settings((await t.store.numbers.get(t.a.id))!)
      expect(settings.webhooks.url).toBe('https://hooks.example.com/a')
      expect(settings.webhooks.headers).toEqual({ Authorization: 'Basic dTpw' })
      expect(t.store.numbers.settings((await t.store.numbers.get(t.b.id))!).webhooks.url).toBeNull()
      const phone = await call(t.app, k, { method: 'GET', url: '/v1/configs/phone_number' })
      expect(phone.json()).toMatchObject({ id: t.a.id, phone_number: `+${t.a.wa_id}` })
      const notHttps = await call(t.app, k, { method: 'POST', url: '/v1/configs/webhook', payload: { url: 'http://hooks.example.com/a' } })
      expect(firstError(notHttps)).toMatchObject({ code: 1009 })
      expect(firstError(notHttps).details).toContain("'url'")
    })

    it('key A cannot read or change number B\'s messages, media or settings', async () => {
      // media of B
      const up = await call(t.app, { d360: t.keyB }, { method: 'POST', url: '/v1/media', headers: { 'content-type': 'image/png' }, payload: PNG })
      expect(up.statusCode).toBe(201)
      const mediaB = up.json().media[0].id as string
      const get = await call(t.app, { d360: t.keyA }, { method: 'GET', url: `/v1/media/${mediaB}` })
      expect(get.statusCode).toBe(404)
      expect(get.body).toBe('')
      expect((await call(t.app, { d360: t.keyA }, { method: 'DELETE', url: `/v1/media/${mediaB}` })).statusCode).toBe(404)
      expect((await call(t.app, { d360: t.keyB }, { method: 'GET', url: `/v1/media/${mediaB}` })).statusCode).toBe(200)
      // sending B's media from A
      const send = await call(t.app, { d360: t.keyA }, { method: 'POST', url: '/v1/messages', payload: { to: '15550001111', type: 'image', image: { id: mediaB } } })
      expect(send.statusCode).toBe(404)
      expect(firstError(send)).toMatchObject({ code: 1006 })
      // an inbound message of B cannot be marked read with A's key
      await ctx().database.db.insertInto('messages').values({
        id: 'wamid.inB', phone_number_id: t.b.id, direction: 'in', peer: '15550001111', type: 'text', content: ctx().sealer.sealJson({}),
        status: 'received', shard: 0, error: null, category: null, conversation_id: null, expires_at: null, created_at: 1, updated_at: 1,
      }).execute()
      const read = await call(t.app, { d360: t.keyA }, { method: 'PUT', url: '/v1/messages/wamid.inB', payload: { status: 'read' } })
      expect(read.statusCode).toBe(404)
      expect((await call(t.app, { d360: t.keyB }, { method: 'PUT', url: '/v1/messages/wamid.inB', payload: { status: 'read' } })).statusCode).toBe(200)
      expect(t.bridge.last('markRead')).toEqual([t.b.id, 'wamid.inB'])
      // a message sent with A's key belongs to A
      const sent = await call(t.app, { d360: t.keyA }, { method: 'POST', url: '/v1/messages', payload: { to: '15550001111', text: { body: 'hi' } } })
      const row = await t.store.messages.get(sent.json().messages[0].id)
      expect(row?.phone_number_id).toBe(t.a.id)
      // profile settings stay per number
      await call(t.app, { d360: t.keyA }, { method: 'PATCH', url: '/v1/settings/profile/about', payload: { text: 'A speaking' } })
      expect((await call(t.app, { d360: t.keyB }, { method: 'GET', url: '/v1/settings/profile/about' })).json().settings.profile.about.text).not.toBe('A speaking')
    })

    it('an admin-scope key manages its own number; a monitoring key only monitors', async () => {
      const adminKeyB = await t.store.apiKeys.create(t.b.id, 'admin', 'ops')
      const s = await call(t.app, { d360: adminKeyB }, { method: 'GET', url: '/v1/settings/application' })
      expect(s.statusCode).toBe(200)
      expect(s.json().settings.application.wa_id).toBe(t.b.wa_id)
      expect((await call(t.app, { d360: adminKeyB }, { method: 'POST', url: '/v1/users', payload: { username: 'keyuser', password: 'K3y!user' } })).statusCode).toBe(403)

      const mon = await t.store.apiKeys.create(t.b.id, 'monitoring', 'prometheus')
      expect((await call(t.app, { apikey: mon }, { method: 'GET', url: '/v1/health' })).statusCode).toBe(200)
      expect((await call(t.app, { apikey: mon }, { method: 'GET', url: '/metrics' })).statusCode).toBe(200)
      expect((await call(t.app, { apikey: mon }, { method: 'GET', url: '/v1/stats/app' })).statusCode).toBe(200)
      const msg = await call(t.app, { apikey: mon }, { method: 'POST', url: '/v1/messages', payload: { to: '15550001111', text: { body: 'x' } } })
      expect(msg.statusCode).toBe(403)
      expect(firstError(msg).details).toContain("scope 'monitoring'")
    })
  })
})

/** Routes that change or describe the whole deployment: only the deployment admin may call them. */
const DEPLOYMENT_WIDE = [
  'POST /v1/certificates/external', 'POST /v1/account/shards', 'GET /v1/support', 'POST /v1/users', 'DELETE /v1/users/{username}',
].sort()

describeEachDatabase('webapp deployment-wide routes', (ctx) => {
  let t: WebTest
  let routes: [string, string][]
  beforeAll(async () => {
    t = await createWebTest(ctx())
    const paths = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json().paths as Record<string, Record<string, unknown>>
    routes = Object.entries(paths).flatMap(([url, ops]) => Object.keys(ops).map((m) => [m.toUpperCase(), url] as [string, string]))
      .filter(([method, url]) => method !== 'HEAD' && url !== '/v1/users/login' && url !== '/v1/users/logout') // logout would end the walk
  })
  afterAll(async () => t.close())

  const urlOf = (path: string) => path.replace('{seq}', '1').replace(/\{[^}]+\}/g, 'x')
  /** The routes that refuse these credentials for want of the deployment admin. */
  const refused = async (auth: Parameters<typeof call>[1]): Promise<string[]> => {
    const out: string[] = []
    for (const [method, path] of routes) {
      const res = await call(t.app, auth, { method: method as 'GET', url: urlOf(path), ...(method === 'GET' || method === 'DELETE' ? {} : { payload: {} }) })
      if (res.statusCode === 403 && firstError(res).details?.includes('needs the deployment admin')) out.push(`${method} ${path}`)
    }
    return out.sort()
  }

  it('a number-scoped admin key and a user bound to a number are refused on every deployment-wide route, with 403 / 1005', async () => {
    const adminKeyA = await t.store.apiKeys.create(t.a.id, 'admin', 'tenant-ops')
    await t.store.users.create({ username: 'a-admin', password: 'A-adm1n!x', role: 'ROLE_ADMIN', phoneNumberId: t.a.id })
    await t.store.users.create({ username: 'a-user', password: 'A-us3r!xx', phoneNumberId: t.a.id })
    const bound = async (user: string, password: string) => (await t.app.inject({
      method: 'POST', url: '/v1/users/login', headers: { authorization: basic(user, password) },
    })).json().users[0].token as string
    expect(await refused({ d360: adminKeyA })).toEqual(DEPLOYMENT_WIDE)
    expect(await refused({ bearer: await bound('a-admin', 'A-adm1n!x') })).toEqual(DEPLOYMENT_WIDE)
    // a bound ROLE_USER is refused too (by the number-admin rule on some of them, so check each answer)
    const user = { bearer: await bound('a-user', 'A-us3r!xx') }
    for (const route of DEPLOYMENT_WIDE) {
      const [method, path] = route.split(' ') as [string, string]
      const res = await call(t.app, user, { method: method as 'GET', url: urlOf(path), payload: {} })
      expect(res.statusCode, route).toBe(403)
      expect(firstError(res), route).toMatchObject({ code: 1005, title: 'Access denied' })
    }
    const res = await call(t.app, { d360: adminKeyA }, { method: 'POST', url: '/v1/certificates/external', headers: { 'content-type': 'text/plain' }, payload: 'x' })
    expect(firstError(res).details).toContain('a Bearer token of a ROLE_ADMIN user not bound to a number')
  })

  it('the deployment admin (ROLE_ADMIN, not bound to a number) is allowed on each of them', async () => {
    expect(await refused({ bearer: t.admin })).toEqual([])
    const shards = await call(t.app, { bearer: t.admin }, { method: 'POST', url: '/v1/account/shards', payload: { cc: t.b.cc, phone_number: t.b.number, shards: 2 } })
    expect(shards.statusCode).toBe(201)
    expect(t.bridge.last('setShards')).toEqual([t.b.id, 2, undefined])
  })

  it('an admin bound to a number cannot read or change other users', async () => {
    const token = (await t.app.inject({ method: 'POST', url: '/v1/users/login', headers: { authorization: basic('a-admin', 'A-adm1n!x') } })).json().users[0].token as string
    const bound = { bearer: token }
    expect((await call(t.app, bound, { method: 'PUT', url: '/v1/users/admin', payload: { password: 'T4ken!over' } })).statusCode).toBe(403)
    expect((await call(t.app, bound, { method: 'GET', url: '/v1/users/admin' })).statusCode).toBe(403)
    expect((await call(t.app, bound, { method: 'GET', url: '/v1/users/a-admin' })).statusCode).toBe(200)
  })
})
