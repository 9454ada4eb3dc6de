import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { OutboundContent } from '../src/domain/message/outbound.js'
import { shardOf } from '../src/domain/shard.js'
import { describeEachDatabase } from './helpers/databases.js'
import { call, createWebTest, firstError, type WebTest } from './helpers/webapp.js'

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100, 2)])
const OGG = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(100, 3)])

describeEachDatabase('webapp messages and contacts', (ctx) => {
  let t: WebTest
  let png: string
  let ogg: string
  beforeAll(async () => {
    t = await createWebTest(ctx())
    png = (await call(t.app, { d360: t.keyA }, { method: 'POST', url: '/v1/media', headers: { 'content-type': 'image/png' }, payload: PNG })).json().media[0].id
    ogg = (await call(t.app, { d360: t.keyA }, { method: 'POST', url: '/v1/media', headers: { 'content-type': 'audio/ogg; codecs=opus' }, payload: OGG })).json().media[0].id
  })
  afterAll(async () => t.close())

  const send = (payload: object, auth: object = { bearer: t.admin }) =>
    call(t.app, auth as { bearer: string }, { method: 'POST', url: '/v1/messages', payload })

  describe('POST /v1/messages', () => {
    it('queues a text message: 201, id, meta; stored sealed with its shard', async () => {
      await t.store.numbers.update(t.a.id, { shard_count: 4 })
      // written behind the API's back, as another process would: seen once the lookup cache expires
      ctx().clock.tick(1000)
      const res = await send({ to: '+1 (631) 555-1234', type: 'text', text: { body: 'Hello there' } })
      expect(res.statusCode).toBe(201)
      const body = res.json()
      expect(body).toEqual({ messages: [{ id: expect.stringMatching(/^wamid\./) }], meta: { api_status: 'stable', version: expect.any(String) } })
      const row = await t.store.messages.get(body.messages[0].id)
      expect(row).toMatchObject({ phone_number_id: t.a.id, direction: 'out', peer: '16315551234', type: 'text', status: 'queued', shard: shardOf('16315551234', 4) })
      expect(Buffer.from(row!.content).includes(Buffer.from('Hello there'))).toBe(false)
      expect(t.store.messages.content<OutboundContent>(row!)).toEqual({ type: 'text', to: '16315551234', text: { body: 'Hello there' } })
      await t.store.numbers.update(t.a.id, { shard_count: 1 })
    })

    it('sends uploaded media by id and checks it is the right kind of media', async () => {
      expect((await send({ to: '16315551234', type: 'image', image: { id: png, caption: 'look' } })).statusCode).toBe(201)
      expect((await send({ to: '16315551234', type: 'audio', audio: { id: ogg } })).statusCode).toBe(201)
      expect((await send({ to: '16315551234', type: 'document', document: { id: png, filename: 'pic.png' } })).statusCode).toBe(201)
      const wrongKind = await send({ to: '16315551234', type: 'audio', audio: { id: png } })
      expect(wrongKind.statusCode).toBe(400)
      expect(firstError(wrongKind)).toMatchObject({ code: 1009 })
      expect(firstError(wrongKind).details).toContain('audio.id')
      const unknown = await send({ to: '16315551234', type: 'video', video: { id: '00000000-0000-0000-0000-000000000000' } })
      expect(unknown.statusCode).toBe(404)
      expect(firstError(unknown)).toMatchObject({ code: 1006, title: 'Resource not found' })
    })

    it('templates need a namespace (2014) and take a ttl', async () => {
      const template = { name: 'order_update', language: { code: 'en', policy: 'deterministic' }, components: [{ type: 'body', parameters: [{ type: 'text', text: '42' }] }] }
      const missing = await send({ to: '16315551234', type: 'template', template })
      expect(missing.statusCode).toBe(400)
      expect(firstError(missing)).toMatchObject({ code: 2014, title: 'Expected Namespace is Empty' })
      const ok = await send({ to: '16315551234', type: 'template', template: { ...template, namespace: 'ns1' }, ttl: { days: 3 } })
      expect(ok.statusCode).toBe(201)
      const row = await t.store.messages.get(ok.json().messages[0].id)
      expect(row?.expires_at).toBe(ctx().clock.now() + 3 * 86_400_000)
    })

    it('answers each rule with its code: 1001, 1002, 1008, 1009, 2015, 2016, 1021', async () => {
      const cases: [object, number, string][] = [
        [{ to: '16315551234', text: { body: 'x'.repeat(4097) } }, 1001, 'text.body'],
        [{ to: '16315551234', recipient_type: 'group', text: { body: 'x' } }, 1002, 'recipient_type'],
        [{ text: { body: 'x' } }, 1008, "'to'"],
        [{ to: '16315551234', type: 'sticker', sticker: { link: 'not a url' } }, 1009, 'sticker.link'],
        [{ to: '16315551234', type: 'interactive', interactive: { type: 'list', body: { text: 'b' }, action: { button: 'm', sections: [] } } }, 2015, 'sections'],
        [{ to: '16315551234', type: 'interactive', interactive: { type: 'list', body: { text: 'b' }, action: { button: 'm', sections: [{ rows: [] }] } } }, 2016, 'rows'],
        [{ to: t.a.wa_id, text: { body: 'me' } }, 1021, t.a.wa_id],
      ]
      for (const [payload, code, detail] of cases) {
        const res = await send(payload)
        expect(res.statusCode, JSON.stringify(payload)).toBe(400)
        const err = firstError(res)
        expect(err.code, JSON.stringify(payload)).toBe(code)
        expect(err.details).toContain(detail)
        expect(res.json().meta).toMatchObject({ api_status: 'stable' })
      }
      const notJson = await t.app.inject({ method: 'POST', url: '/v1/messages', headers: { authorization: `Bearer ${t.admin}`, 'content-type': 'application/json' }, payload: '{"to":' })
      expect(firstError(notJson)).toMatchObject({ code: 1009, details: 'The request body is not valid JSON' })
    })

    it('blocks sends to a contact whose identity changed until it is acknowledged (1028)', async () => {
      await t.store.numbers.saveSettings(t.a.id, { show_security_notifications: true })
      ctx().clock.tick(1000)
      await t.store.contacts.recordIdentity(t.a.id, '16315550007', 'UKD6Y/5SqDU=', false)
      const blocked = await send({ to: '16315550007', text: { body: 'hi' } })
      expect(blocked.statusCode).toBe(400)
      expect(firstError(blocked)).toMatchObject({ code: 1028 })

      const get = await call(t.app, { bearer: t.admin }, { method: 'GET', url: '/v1/contacts/16315550007/identity' })
      expect(get.json().contacts).toEqual({ hash: 'UKD6Y/5SqDU=', created_timestamp: ctx().clock.now(), acknowledged: false })
      const wrong = await call(t.app, { bearer: t.admin }, { method: 'PUT', url: '/v1/contacts/16315550007/identity', payload: { hash: 'other' } })
      expect(firstError(wrong)).toMatchObject({ code: 1009 })
      const ack = await call(t.app, { bearer: t.admin }, { method: 'PUT', url: '/v1/contacts/16315550007/identity', payload: { hash: 'UKD6Y/5SqDU=' } })
      expect(ack.statusCode).toBe(200)
      expect((await send({ to: '16315550007', text: { body: 'hi' } })).statusCode).toBe(201)
      expect((await call(t.app, { bearer: t.admin }, { method: 'GET', url: '/v1/contacts/16315559999/identity' })).statusCode).toBe(404)
      // B's key does not see A's contacts
      expect((await call(t.app, { d360: t.keyB }, { method: 'GET', url: '/v1/contacts/16315550007/identity' })).statusCode).toBe(404)
      await t.store.numbers.saveSettings(t.a.id, {})
    })
  })

  describe('PUT /v1/messages/{id}', () => {
    it('marks inbound messages of the number as read; anything else is 404 / 1006', async () => {
      await ctx().database.db.insertInto('messages').values({
        id: 'wamid.inA', phone_number_id: t.a.id, direction: 'in', peer: '16315551234', type: 'text', content: ctx().sealer.sealJson({}),
        status: 'received', shard: 0, error: null, category: null, conversation_id: null, expires_at: null, created_at: 1, updated_at: 1,
      }).execute()
      const ok = await call(t.app, { bearer: t.admin }, { method: 'PUT', url: '/v1/messages/wamid.inA', payload: { status: 'read' } })
      expect(ok.statusCode).toBe(200)
      expect(ok.json()).toEqual({ meta: { api_status: 'stable', version: expect.any(String) } })
      expect(t.bridge.last('markRead')).toEqual([t.a.id, 'wamid.inA'])

      const outbound = (await send({ to: '16315551234', text: { body: 'x' } })).json().messages[0].id
      expect((await call(t.app, { bearer: t.admin }, { method: 'PUT', url: `/v1/messages/${outbound}`, payload: { status: 'read' } })).statusCode).toBe(404)
      const unknown = await call(t.app, { bearer: t.admin }, { method: 'PUT', url: '/v1/messages/wamid.nope', payload: { status: 'read' } })
      expect(firstError(unknown)).toMatchObject({ code: 1006 })
      const bad = await call(t.app, { bearer: t.admin }, { method: 'PUT', url: '/v1/messages/wamid.inA', payload: { status: 'delivered' } })
      expect(firstError(bad)).toMatchObject({ code: 1009, details: 'Invalid value for \'status\': must be "read"' })
      const missing = await call(t.app, { bearer: t.admin }, { method: 'PUT', url: '/v1/messages/wamid.inA', payload: {} })
      expect(firstError(missing)).toMatchObject({ code: 1008, details: "Missing required parameter 'status'" })
    })
  })

  describe('POST /v1/contacts', () => {
    it('asks the CoreApp and returns its answer', async () => {
      const res = await call(t.app, { d360: t.keyB }, {
        method: 'POST', url: '/v1/contacts', payload: { blocking: 'wait', contacts: ['+1 631 555 1001', '6315551002'], force_check: true },
      })
      expect(res.statusCode).toBe(200)
      expect(res.json().contacts).toEqual([
        { input: '+1 631 555 1001', status: 'valid', wa_id: '16315551001' },
        { input: '6315551002', status: 'invalid' },
      ])
      expect(t.bridge.last('checkContacts')).toEqual([t.b.id, ['+1 631 555 1001', '6315551002'], { blocking: true, forceCheck: true }])
      const async = await call(t.app, { d360: t.keyB }, { method: 'POST', url: '/v1/contacts', payload: { contacts: ['16315551001'] } })
      expect(async.json().contacts).toEqual([{ input: '16315551001', status: 'processing' }])
      const empty = await call(t.app, { d360: t.keyB }, { method: 'POST', url: '/v1/contacts', payload: { contacts: [] } })
      expect(firstError(empty)).toMatchObject({ code: 1009 })
      expect(firstError(empty).details).toContain("'contacts'")
      const wrong = await call(t.app, { d360: t.keyB }, { method: 'POST', url: '/v1/contacts', payload: { contacts: ['1'], blocking: 'later' } })
      expect(firstError(wrong).details).toContain('"wait", "no_wait"')
    })
  })
})

describeEachDatabase('webapp limits', (ctx) => {
  let t: WebTest
  beforeAll(async () => {
    t = await createWebTest(ctx(), { limits: { messagesPerSecond: 50, messagesBurst: 150, otherPerSecond: 20, otherBurst: 60, overloadThreshold: 5, overloadCacheMs: 1000 } })
  })
  afterAll(async () => t.close())

  it('/v1/messages allows bursts of 150 then 50/s per number, then 429 / 1015', async () => {
    const send = (key: string) => call(t.app, { d360: key }, { method: 'POST', url: '/v1/messages', payload: { to: '16315551234', text: { body: 'x' } } })
    for (let i = 0; i < 150; i++) expect((await send(t.keyA)).statusCode).toBe(201)
    const limited = await send(t.keyA)
    expect(limited.statusCode).toBe(429)
    expect(firstError(limited)).toMatchObject({ code: 1015, title: 'Too many requests' })
    expect(limited.headers['retry-after']).toBe('1')
    // number B has its own bucket
    expect((await send(t.keyB)).statusCode).toBe(201)
    // 100 ms later five more are allowed
    ctx().clock.tick(100)
    for (let i = 0; i < 5; i++) expect((await send(t.keyA)).statusCode).toBe(201)
    expect((await send(t.keyA)).statusCode).toBe(429)
    ctx().clock.tick(60_000)
  })

  it('other endpoints allow bursts of 60 then 20/s', async () => {
    for (let i = 0; i < 60; i++) expect((await call(t.app, { d360: t.keyB }, { method: 'GET', url: '/v1/health' })).statusCode).toBe(200)
    expect((await call(t.app, { d360: t.keyB }, { method: 'GET', url: '/v1/health' })).statusCode).toBe(429)
    ctx().clock.tick(60_000)
  })

  it('sends answer 503 / 1016 while the number\'s callback backlog is over the threshold', async () => {
    const event = { type: 'error' as const, errors: [{ code: 500, title: 'Generic error' }] }
    await t.store.callbacks.enqueueMany(t.b.id, Array.from({ length: 6 }, () => event))
    ctx().clock.tick(2000)
    const res = await call(t.app, { d360: t.keyB }, { method: 'POST', url: '/v1/messages', payload: { to: '16315551234', text: { body: 'x' } } })
    expect(res.statusCode).toBe(503)
    expect(firstError(res)).toMatchObject({ code: 1016, title: 'System overloaded' })
    expect(firstError(res).details).toContain('6 callbacks')
    // A is not affected by B's backlog
    expect((await call(t.app, { d360: t.keyA }, { method: 'POST', url: '/v1/messages', payload: { to: '16315551234', text: { body: 'x' } } })).statusCode).toBe(201)
    await ctx().database.db.updateTable('callbacks').set({ status: 'done' }).where('phone_number_id', '=', t.b.id).execute()
    ctx().clock.tick(2000)
    expect((await call(t.app, { d360: t.keyB }, { method: 'POST', url: '/v1/messages', payload: { to: '16315551234', text: { body: 'x' } } })).statusCode).toBe(201)
  })

  it('rejects JSON bodies over 1 MB', async () => {
    const res = await call(t.app, { d360: t.keyA }, { method: 'POST', url: '/v1/contacts', payload: { contacts: ['1'.repeat(1_100_000)] } })
    expect(res.statusCode).toBe(413)
    expect(firstError(res)).toMatchObject({ code: 1009 })
  })
})
