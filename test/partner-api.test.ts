import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { CloudCode, WaboxError } from '../src/errors/index.js'
import { partnerErrors } from '../src/webapp/partner/envelope.js'
import { graphError } from './helpers/cloud.js'
import { describeEachDatabase } from './helpers/databases.js'
import { createPartnerWorld, partnerAuth, type PartnerWorld } from './helpers/partner-world.js'
import { firstError } from './helpers/webapp.js'

describeEachDatabase('Partner API', (ctx) => {
  let w: PartnerWorld
  beforeAll(async () => {
    w = await createPartnerWorld(ctx())
  })
  afterAll(async () => w.close())

  const about = (key: string) => w.app.inject({ method: 'GET', url: '/v1/settings/profile/about', headers: { 'd360-api-key': key } })
  const graph = (token: string) => w.app.inject({ method: 'GET', url: `/v23.0/${w.a.id}`, headers: { authorization: `Bearer ${token}` } })

  it('needs a partner key pair over HTTP Basic, answering {error: {code, message}}', async () => {
    const none = await w.partner(null, { method: 'GET', url: '/partner/v1/clients' })
    expect(none.statusCode).toBe(401)
    expect(none.json()).toMatchObject({ error: { code: 'unauthorized', message: expect.stringContaining('Basic') } })
    const wrong = await w.partner(null, { method: 'GET', url: '/partner/v1/clients', headers: { authorization: partnerAuth(w.pa.keyId, 'sk_nope') } })
    expect(wrong.statusCode).toBe(401)
    // a key id of another shape (NUL, which PostgreSQL cannot compare, among them) is unknown without a query
    for (const keyId of ['\0x', `${w.pa.keyId}\0`, w.pa.keyId.slice(0, -1)]) {
      const odd = await w.partner(null, { method: 'GET', url: '/partner/v1/clients', headers: { authorization: partnerAuth(keyId, w.pa.secret) } })
      expect(odd.statusCode, odd.body).toBe(401)
      expect(odd.json()).toMatchObject({ error: { code: 'unauthorized' } })
    }
    const nul = await w.partner(w.pa, { method: 'GET', url: '/partner/v1/channels?client_id=%00' })
    expect(nul.statusCode, nul.body).toBe(400)
    expect(nul.json()).toMatchObject({ error: { code: 'invalid_request', message: expect.stringContaining("query parameter 'client_id'") } })
    const unknown = await w.partner(w.pa, { method: 'GET', url: '/partner/v1/nothing-here' })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json()).toMatchObject({ error: { code: 'not_found' } })
    const doc = (await w.app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, unknown>; components: { securitySchemes: Record<string, unknown> } }
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/partner/v1/channels', '/partner/v1/clients/{client_id}/suspend', '/partner/v1/audit']))
    expect(Object.keys(doc.components.securitySchemes)).toContain('partnerKey')
  })

  it('creates a client and a WABA under it, issues a Graph token, adds a channel and registers it on the network', async () => {
    const created = await w.partner(w.pa, { method: 'POST', url: '/partner/v1/clients', payload: { name: 'Bakery', limits: { requests_per_second: 10 } } })
    expect(created.statusCode, created.body).toBe(201)
    const client = created.json() as { id: string; status: string; limits: { requests_per_second: number; burst: number } }
    expect(client).toMatchObject({ status: 'active', limits: { requests_per_second: 10, burst: 30 } })
    const bad = await w.partner(w.pa, { method: 'POST', url: '/partner/v1/clients', payload: { name: '' } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toMatchObject({ error: { code: 'invalid_request', message: expect.stringContaining("'name'") } })

    const unconfigured = await w.partner(w.pa, { method: 'POST', url: `/partner/v1/clients/${client.id}/wabas`, payload: { name: 'Bakery WABA', data_localization_region: 'eu' } })
    expect(unconfigured.statusCode).toBe(400)
    expect(unconfigured.json()).toMatchObject({ error: { code: 'invalid_request', message: expect.stringContaining('region EU is not configured in this deployment (configured regions: none)') } })
    const waba = await w.partner(w.pa, { method: 'POST', url: `/partner/v1/clients/${client.id}/wabas`, payload: { name: 'Bakery WABA' } })
    expect(waba.statusCode, waba.body).toBe(201)
    const wabaId = (waba.json() as { id: string }).id
    expect(waba.json()).toMatchObject({ client_id: client.id, data_localization_region: null })

    const token = await w.partner(w.pa, { method: 'POST', url: `/partner/v1/wabas/${wabaId}/tokens`, payload: { label: 'crm' } })
    expect(token.statusCode, token.body).toBe(201)
    const { secret, id: tokenId } = token.json() as { secret: string; id: string }
    const listed = await w.partner(w.pa, { method: 'GET', url: `/partner/v1/wabas/${wabaId}/tokens` })
    expect(listed.json()).toMatchObject({ data: [{ id: tokenId, label: 'crm', revoked_at: null }] })
    expect(listed.body).not.toContain(secret)

    const channel = await w.partner(w.pa, { method: 'POST', url: '/partner/v1/channels', payload: { waba_id: wabaId, cc: '44', phone_number: '7700900123', display_name: 'Bakery', cert: 'Y2VydA==' } })
    expect(channel.statusCode, channel.body).toBe(201)
    const phoneNumberId = (channel.json() as { phone_number_id: string }).phone_number_id
    expect(channel.json()).toMatchObject({ wa_id: '447700900123', platform_type: 'CLOUD_API', status: 'PENDING', waba_id: wabaId, client_id: client.id })
    for (const [step, payload] of [['request_code', { method: 'sms' }], ['verify_code', { code: w.bridge.code }], ['register', { pin: '123456' }]] as const) {
      const res = await w.partner(w.pa, { method: 'POST', url: `/partner/v1/channels/${phoneNumberId}/${step}`, payload })
      expect(res.statusCode, `${step}: ${res.body}`).toBe(200)
    }
    const channels = await w.partner(w.pa, { method: 'GET', url: `/partner/v1/channels?client_id=${client.id}` })
    expect(channels.json()).toEqual({ data: [{
      phone_number_id: phoneNumberId, wa_id: '447700900123', display_phone_number: '+44 7700900123', verified_name: 'Bakery', waba_id: wabaId,
      client_id: client.id, platform_type: 'CLOUD_API', status: 'CONNECTED', quality: 'UNKNOWN', tier: null,
    }] })
    // the token reaches the new channel through the Cloud API
    const read = await w.app.inject({ method: 'GET', url: `/v23.0/${phoneNumberId}`, headers: { authorization: `Bearer ${secret}` } })
    expect(read.statusCode, read.body).toBe(200)

    const webhook = await w.partner(w.pa, { method: 'PUT', url: `/partner/v1/channels/${phoneNumberId}/webhook`, payload: { url: 'http://127.0.0.1:9/hook', headers: { 'x-tenant': 'bakery' } } })
    expect(webhook.statusCode, webhook.body).toBe(200)
    expect((await w.partner(w.pa, { method: 'GET', url: `/partner/v1/channels/${phoneNumberId}/webhook` })).json()).toMatchObject({ url: 'http://127.0.0.1:9/hook' })
  })

  it('suspends a client: its API keys and tokens answer 403 in each dialect, its queue is kept; resume restores them', async () => {
    const token = await w.store.accessTokens.create(w.wabaId, ['whatsapp_business_messaging', 'whatsapp_business_management'], 'x')
    expect((await about(w.keyB)).statusCode).toBe(200)
    await w.store.messages.insertOutbound([{ id: 'wamid.queued-before', phoneNumberId: w.b.id, to: '15550001', type: 'text', content: { text: { body: 'hi' } }, shard: 0 }])
    const suspend = await w.partner(w.pa, { method: 'POST', url: `/partner/v1/clients/${w.pa.client.id}/suspend` })
    expect(suspend.statusCode, suspend.body).toBe(200)
    expect(suspend.json()).toMatchObject({ status: 'suspended' })

    const onPrem = await about(w.keyB)
    expect(onPrem.statusCode).toBe(403)
    expect(firstError(onPrem)).toMatchObject({ code: 1031, details: expect.stringContaining('suspended') })
    const cloud = await graph(token)
    expect(cloud.statusCode).toBe(403)
    expect(graphError(cloud)).toMatchObject({ code: 131031 })
    const d360 = await w.app.inject({ method: 'GET', url: '/whatsapp_business_profile', headers: { 'd360-api-key': w.keyA } })
    expect(d360.statusCode).toBe(403)
    expect(graphError(d360)).toMatchObject({ code: 131031 })
    expect(await w.store.messages.get('wamid.queued-before')).toMatchObject({ status: 'queued', phone_number_id: w.b.id })
    // another partner's client is untouched
    expect((await w.app.inject({ method: 'GET', url: `/v23.0/${w.c.id}`, headers: { authorization: `Bearer ${w.otherToken}` } })).statusCode).toBe(200)

    const resume = await w.partner(w.pa, { method: 'POST', url: `/partner/v1/clients/${w.pa.client.id}/resume` })
    expect(resume.json()).toMatchObject({ status: 'active' })
    expect((await about(w.keyB)).statusCode).toBe(200)
    expect((await graph(token)).statusCode).toBe(200)

    const audit = await w.partner(w.pa, { method: 'GET', url: `/partner/v1/audit?object_id=${w.pa.client.id}` })
    expect((audit.json() as { data: { action: string; credential_id: string }[] }).data.map((e) => [e.action, e.credential_id]))
      .toEqual([['client.suspend', w.pa.keyId], ['client.resume', w.pa.keyId]])
    expect(audit.body).not.toContain(w.pa.secret)
    expect((await w.partner(w.pb, { method: 'GET', url: '/partner/v1/audit' })).json()).toEqual({ data: [] })
  })

  it("caps all of a client's credentials at its ceiling with each dialect's rate-limit error", async () => {
    const token = await w.store.accessTokens.create(w.wabaId, ['whatsapp_business_management'], 'y')
    const limited = await w.partner(w.pa, { method: 'PATCH', url: `/partner/v1/clients/${w.pa.client.id}`, payload: { limits: { requests_per_second: 1, burst: 2 } } })
    expect(limited.statusCode, limited.body).toBe(200)
    expect((await about(w.keyB)).statusCode).toBe(200)
    expect((await graph(token)).statusCode).toBe(200)
    const onPrem = await about(w.keyB)
    expect(onPrem.statusCode).toBe(429)
    expect(firstError(onPrem)).toMatchObject({ code: 1015 })
    const cloud = await graph(token)
    expect(cloud.statusCode).toBe(400)
    expect(graphError(cloud)).toMatchObject({ code: 80007 })
    w.db.clock.tick(1000)
    expect((await about(w.keyB)).statusCode).toBe(200)
    await w.partner(w.pa, { method: 'PATCH', url: `/partner/v1/clients/${w.pa.client.id}`, payload: { limits: null } })
  })

  it('rotates a channel API key: the old key works through the grace period, then stops', async () => {
    const issued = await w.partner(w.pa, { method: 'POST', url: `/partner/v1/channels/${w.b.id}/api_keys`, payload: { scope: 'd360', label: 'crm' } })
    expect(issued.statusCode, issued.body).toBe(201)
    const old = issued.json() as { id: string; secret: string }
    const rotated = await w.partner(w.pa, { method: 'POST', url: `/partner/v1/channels/${w.b.id}/api_keys/${old.id}/rotate`, payload: { grace_seconds: 60 } })
    expect(rotated.statusCode, rotated.body).toBe(200)
    const fresh = rotated.json() as { id: string; secret: string; label: string }
    expect(fresh.label).toBe('crm')
    expect((await about(old.secret)).statusCode).toBe(200)
    expect((await about(fresh.secret)).statusCode).toBe(200)
    w.db.clock.tick(60_000)
    expect((await about(old.secret)).statusCode).toBe(401)
    expect((await about(fresh.secret)).statusCode).toBe(200)
    const revoked = await w.partner(w.pa, { method: 'DELETE', url: `/partner/v1/channels/${w.b.id}/api_keys/${fresh.id}` })
    expect(revoked.statusCode).toBe(204)
    expect((await about(fresh.secret)).statusCode).toBe(401)
  })

  it('rotates a Graph token: the old token works through the grace period, then answers 190', async () => {
    const issued = await w.partner(w.pa, { method: 'POST', url: `/partner/v1/wabas/${w.wabaId}/tokens`, payload: { scopes: ['whatsapp_business_management'], label: 'erp' } })
    const old = issued.json() as { id: string; secret: string }
    const rotated = await w.partner(w.pa, { method: 'POST', url: `/partner/v1/wabas/${w.wabaId}/tokens/${old.id}/rotate`, payload: { grace_seconds: 30 } })
    expect(rotated.statusCode, rotated.body).toBe(200)
    const fresh = rotated.json() as { secret: string; scopes: string[]; label: string; previous_valid_until: string }
    expect(fresh).toMatchObject({ scopes: ['whatsapp_business_management'], label: 'erp', previous_valid_until: new Date(w.db.clock.now() + 30_000).toISOString() })
    expect((await graph(old.secret)).statusCode).toBe(200)
    w.db.clock.tick(30_000)
    const expired = await graph(old.secret)
    expect(expired.statusCode).toBe(401)
    expect(graphError(expired)).toMatchObject({ code: 190 })
    expect((await graph(fresh.secret)).statusCode).toBe(200)
    const other = await w.partner(w.pb, { method: 'POST', url: `/partner/v1/wabas/${w.wabaId}/tokens/${old.id}/rotate` })
    expect(other.statusCode).toBe(404)
  })

  it('refuses a repeated or over-long filter with invalid_request naming it, instead of querying with an array', async () => {
    const cases = [['client_id', '/channels?client_id=a&client_id=b'], ['waba_id', '/channels?waba_id=a&waba_id=b'], ['action', '/audit?action=x&action=y'],
      ['object_type', '/audit?object_type=a&object_type=b'], ['object_id', '/audit?object_id=a&object_id=b'], ['client_id', `/channels?client_id=${'9'.repeat(101)}`]]
    for (const [name, query] of cases) {
      const res = await w.partner(w.pa, { method: 'GET', url: `/partner/v1${query}` })
      expect(res.statusCode, `${query}: ${res.body}`).toBe(400)
      expect(res.json()).toMatchObject({ error: { code: 'invalid_request', message: expect.stringContaining(`query parameter '${name}'`) } })
    }
  })

  it('refuses a channel whose waba_id is not a string, without coercing it', async () => {
    for (const wabaId of [{ toString: 1 }, 12345, [w.wabaId], null, '']) {
      const res = await w.partner(w.pa, { method: 'POST', url: '/partner/v1/channels', payload: { waba_id: wabaId, cc: '44', phone_number: '7700900999', display_name: 'Shop' } })
      expect(res.statusCode, `${JSON.stringify(wabaId)}: ${res.body}`).toBe(400)
      expect(res.json()).toMatchObject({ error: { code: 'invalid_request', message: expect.stringContaining("'waba_id'") } })
    }
  })

  it('refuses an over-long display_name, a cert that is not base64 or too long, and an over-long webhook url, creating nothing', async () => {
    const add = (extra: object) => w.partner(w.pa, { method: 'POST', url: '/partner/v1/channels', payload: { waba_id: w.wabaId, cc: '44', phone_number: '7700900555', display_name: 'Shop', ...extra } })
    for (const [name, extra] of [['display_name', { display_name: 'x'.repeat(257) }], ['display_name', { display_name: 'x'.repeat(70_000) }],
      ['cert', { cert: 'not base64!' }], ['cert', { cert: 'A'.repeat(70_000) }], ['cert', { cert: 42 }]] as const) {
      const res = await add(extra)
      expect(res.statusCode, `${name}: ${res.body.slice(0, 200)}`).toBe(400)
      expect(res.json()).toMatchObject({ error: { code: 'invalid_request', message: expect.stringContaining(`'${name}'`) } })
    }
    const created = await add({ display_name: 'x'.repeat(256), cert: 'Y2Vy\ndA==' })
    expect(created.statusCode, created.body).toBe(201)
    const id = (created.json() as { phone_number_id: string }).phone_number_id
    expect((await w.store.numbers.get(id))?.cert).toBe('Y2VydA==')
    const url = await w.partner(w.pa, { method: 'PUT', url: `/partner/v1/channels/${id}/webhook`, payload: { url: `https://example.com/${'x'.repeat(70_000)}` } })
    expect(url.statusCode).toBe(400)
    expect(url.json()).toMatchObject({ error: { code: 'invalid_request', message: expect.stringContaining("'url'") } })
  })

  it('answers two concurrent adds of one number with 201 and 409 conflict', async () => {
    const add = () => w.partner(w.pa, { method: 'POST', url: '/partner/v1/channels', payload: { waba_id: w.wabaId, cc: '44', phone_number: '7700900777', display_name: 'Twice' } })
    // both pass the check for an existing number before either inserts
    const lookup = w.store.numbers.getByWaId.bind(w.store.numbers)
    let arrived = 0
    let release!: () => void
    const both = new Promise<void>((resolve) => { release = resolve })
    const spy = vi.spyOn(w.store.numbers, 'getByWaId').mockImplementation(async (waId) => {
      if (++arrived === 2) release()
      await both
      return lookup(waId)
    })
    const answers = await Promise.all([add(), add()]).finally(() => spy.mockRestore())
    expect(answers.map((r) => r.statusCode).sort(), answers.map((r) => r.body).join('\n')).toEqual([201, 409])
    expect(answers.find((r) => r.statusCode === 409)!.json()).toMatchObject({ error: { code: 'conflict', message: expect.stringContaining('+447700900777') } })
  })

  it("answers a shared use case's errors with their Graph code, a rate limit as 429", () => {
    expect(partnerErrors.render(new WaboxError(CloudCode.REGISTER_RATE_LIMIT, 'wait'))).toEqual({
      status: 429, body: { error: { code: 'rate_limited', message: 'wait', graph_code: 133016 } },
    })
    expect(partnerErrors.render(new WaboxError(CloudCode.PIN_MISMATCH, 'wrong PIN'))).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', graph_code: 133005 } } })
  })

  it("rotates the partner's own key pair with a grace period", async () => {
    const rotated = await w.partner(w.pb, { method: 'POST', url: `/partner/v1/keys/${w.pb.keyId}/rotate`, payload: { grace_seconds: 10 } })
    expect(rotated.statusCode, rotated.body).toBe(200)
    const { secret } = rotated.json() as { secret: string }
    expect((await w.partner(w.pb, { method: 'GET', url: '/partner/v1/clients' })).statusCode).toBe(200)
    w.db.clock.tick(10_000)
    expect((await w.partner(w.pb, { method: 'GET', url: '/partner/v1/clients' })).statusCode).toBe(401)
    w.pb = { ...w.pb, secret }
    expect((await w.partner(w.pb, { method: 'GET', url: '/partner/v1/clients' })).statusCode).toBe(200)
  })
})

describeEachDatabase('Partner API PIN checks', (ctx) => {
  let w: PartnerWorld
  beforeAll(async () => {
    w = await createPartnerWorld(ctx(), { limits: { messagesBurst: 100_000, otherBurst: 100_000, partnerPinChecksPerSecond: 1, partnerPinChecksBurst: 2 } })
  })
  afterAll(async () => w.close())

  it('limits the requests that check a two-step PIN per partner, answering 429 rate_limited', async () => {
    const register = (who = w.pa) => w.partner(who, { method: 'POST', url: `/partner/v1/channels/${who === w.pa ? w.b.id : w.c.id}/register`, payload: { pin: '000000' } })
    const region = () => w.partner(w.pa, { method: 'POST', url: `/partner/v1/wabas/${w.wabaId}/region`, payload: { data_localization_region: 'eu', pin: '000000' } })
    expect((await register()).statusCode).not.toBe(429)
    expect((await region()).statusCode).not.toBe(429)
    const limited = await register()
    expect(limited.statusCode, limited.body).toBe(429)
    expect(limited.headers['retry-after']).toBe('1')
    expect(limited.json()).toMatchObject({ error: { code: 'rate_limited', message: expect.stringContaining('PIN checks') } })
    expect((await region()).statusCode).toBe(429)
    // other routes and other partners are not counted
    expect((await w.partner(w.pa, { method: 'GET', url: '/partner/v1/clients' })).statusCode).toBe(200)
    expect((await register(w.pb)).statusCode).not.toBe(429)
    w.db.clock.tick(1000)
    expect((await register()).statusCode).not.toBe(429)
  })
})
