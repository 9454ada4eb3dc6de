import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { OutboundContent } from '../src/domain/message/outbound.js'
import { createCloudTest, graphError, type CloudTest } from './helpers/cloud.js'
import { describeEachDatabase } from './helpers/databases.js'
import { call, firstError } from './helpers/webapp.js'

const TEXT = { messaging_product: 'whatsapp', to: '+1 (631) 555-0101', type: 'text', text: { body: 'Hello from the Cloud' } }
const TEMPLATE = { name: 'order_update', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: '42' }] }] }
/** The number's templates on the network: sends are checked against them before they are queued. */
const PACK = {
  namespace: 'test_namespace',
  templates: [
    { name: 'order_update', language: 'en_US', category: 'UTILITY', status: 'APPROVED', components: [{ type: 'BODY', text: 'Order {{1}} shipped' }] },
    { name: 'signup', language: 'en', category: 'MARKETING', status: 'APPROVED', components: [{ type: 'BODY', text: 'Join us' }, { type: 'BUTTONS', buttons: [{ type: 'FLOW', text: 'Sign up' }] }] },
  ],
}

describeEachDatabase('Cloud API: POST /{phone_number_id}/messages', (ctx) => {
  let t: CloudTest
  beforeAll(async () => {
    t = await createCloudTest(ctx())
    t.bridge.pack = PACK
  })
  afterAll(async () => t.close())

  const post = (url: string, payload: unknown, token: string | null = t.token, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url, payload: payload as object, headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers } })

  it('sends a text under any Graph version, unversioned and with a trailing slash: 200 with contacts and the wamid', async () => {
    for (const url of [`/v23.0/${t.a.id}/messages`, `/v19.0/${t.a.id}/messages`, `/v26.0/${t.a.id}/messages/`, `/${t.a.id}/messages`, `/${t.a.id}/messages/`]) {
      const res = await post(url, TEXT)
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200)
      expect(res.headers['content-type']).toMatch(/^application\/json/)
      const body = res.json()
      expect(body).toEqual({
        messaging_product: 'whatsapp',
        contacts: [{ input: '+1 (631) 555-0101', wa_id: '16315550101' }],
        messages: [{ id: expect.stringMatching(/^wamid\./), message_status: 'accepted' }],
      })
      const row = await t.store.messages.get(body.messages[0].id)
      expect(row).toMatchObject({ phone_number_id: t.a.id, direction: 'out', peer: '16315550101', type: 'text', status: 'queued' })
      expect(t.store.messages.content<OutboundContent>(row!)).toEqual({ type: 'text', to: '16315550101', text: { body: 'Hello from the Cloud' } })
    }
  })

  it('takes every Cloud type through the shared validator: templates without a namespace, context, biz_opaque_callback_data, recipient_type', async () => {
    const res = await post(`/v23.0/${t.a.id}/messages`, {
      messaging_product: 'whatsapp', recipient_type: 'individual', to: '16315550101', type: 'template', template: TEMPLATE,
      context: { message_id: 'wamid.earlier' }, biz_opaque_callback_data: 'order-42',
    })
    expect(res.statusCode, res.body).toBe(200)
    const row = await t.store.messages.get(res.json().messages[0].id)
    expect(t.store.messages.content<OutboundContent>(row!)).toMatchObject({
      type: 'template', template: TEMPLATE, context: { message_id: 'wamid.earlier' }, biz_opaque_callback_data: 'order-42',
    })
    const preview = await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', to: '16315550101', text: { body: 'see https://example.com', preview_url: true } })
    expect(preview.statusCode, preview.body).toBe(200)
    const reaction = await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', to: '16315550101', type: 'reaction', reaction: { message_id: 'wamid.x', emoji: '👍' } })
    expect(reaction.statusCode, reaction.body).toBe(200)
    const link = await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', to: '16315550101', type: 'image', image: { link: 'https://example.com/a.png', caption: 'hi' } })
    expect(link.statusCode, link.body).toBe(200)
  })

  it('answers a send to a business-scoped user id with user_id; to wins when both are given', async () => {
    await t.store.contactState.recordUserId(t.a.id, '16315550199', 'US.1349120865530274')
    const res = await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', recipient: 'US.1349120865530274', text: { body: 'hi' } })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().contacts).toEqual([{ input: 'US.1349120865530274', user_id: 'US.1349120865530274' }])
    const row = await t.store.messages.get(res.json().messages[0].id)
    expect(row?.peer).toBe('16315550199')
    expect(t.store.messages.content<OutboundContent>(row!)).toMatchObject({ to: '16315550199', recipient: 'US.1349120865530274' })

    const both = await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', to: '16315550101', recipient: 'US.1349120865530274', text: { body: 'hi' } })
    expect(both.json().contacts).toEqual([{ input: '16315550101', wa_id: '16315550101' }])
    const bothRow = await t.store.messages.get(both.json().messages[0].id)
    expect(t.store.messages.content<OutboundContent>(bothRow!)).not.toHaveProperty('recipient')

    const stranger = await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', recipient: 'US.999', text: { body: 'hi' } })
    expect(stranger.statusCode).toBe(400)
    expect(graphError(stranger)).toMatchObject({ code: 131026, error_data: { details: expect.stringContaining('recipient') } })
    const malformed = await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', recipient: 'not a bsuid', text: { body: 'hi' } })
    expect(graphError(malformed)).toMatchObject({ code: 131009, error_data: { details: expect.stringContaining("'recipient'") } })
  })

  it('answers 131062 to an authentication template with an OTP button sent to a user id; to a phone number it is accepted', async () => {
    t.bridge.pack = {
      ...t.bridge.pack,
      templates: [...t.bridge.pack.templates, {
        name: 'login_code', language: 'en_US', category: 'AUTHENTICATION', status: 'APPROVED',
        components: [{ type: 'BODY', text: '{{1}} is your verification code.' }, { type: 'BUTTONS', buttons: [{ type: 'OTP', text: 'Copy code', otp_type: 'COPY_CODE' }] }],
      }],
    }
    ctx().clock.tick(1000)
    await t.store.contactState.recordUserId(t.a.id, '16315550199', 'US.1349120865530274')
    const template = { name: 'login_code', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: '123456' }] }] }
    const res = await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', recipient: 'US.1349120865530274', type: 'template', template })
    expect(res.statusCode, res.body).toBe(400)
    expect(graphError(res)).toMatchObject({
      code: 131062, message: '(#131062) Business-scoped User ID recipients are not supported for this message', error_data: { details: expect.stringContaining('login_code') },
    })
    const byPhone = await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', to: '16315550199', type: 'template', template })
    expect(byPhone.statusCode, byPhone.body).toBe(200)
  })

  it('answers every error in the Graph envelope: message, type, code, error_data, fbtrace_id', async () => {
    const res = await post(`/${t.a.id}/messages`, { ...TEXT, to: 'nobody' })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(res.json()).toEqual({
      error: {
        message: '(#131009) Parameter value is not valid',
        type: 'OAuthException',
        code: 131009,
        error_data: { messaging_product: 'whatsapp', details: expect.stringContaining("'to'") },
        fbtrace_id: expect.stringMatching(/^A[\w-]{20,}$/),
      },
    })
  })

  it.each([
    ['a missing messaging_product', { to: '16315550101', text: { body: 'x' } }, 400, 100, "'messaging_product'"],
    ['another messaging_product', { ...TEXT, messaging_product: 'sms' }, 400, 100, '"whatsapp"'],
    ['no to and no recipient', { messaging_product: 'whatsapp', text: { body: 'x' } }, 400, 131008, "'to'"],
    ['a to that is no number', { ...TEXT, to: 'x' }, 400, 131009, "'to'"],
    ['an unknown type', { ...TEXT, type: 'fax' }, 400, 131009, "'type'"],
    ['On-Prem\'s hsm type', { ...TEXT, type: 'hsm', hsm: {} }, 400, 131009, "'type'"],
    ['a missing text body', { ...TEXT, text: {} }, 400, 131008, "'text.body'"],
    ['a text over 4096 characters', { ...TEXT, text: { body: 'x'.repeat(4097) } }, 400, 131001, '4096'],
    ['a group recipient', { ...TEXT, recipient_type: 'group' }, 400, 131002, 'recipient_type'],
    ['media with both id and link', { ...TEXT, type: 'image', image: { id: '1', link: 'https://x.example/a.png' } }, 400, 131009, "'image'"],
    ['unknown media id', { ...TEXT, type: 'image', image: { id: '00000000-0000-0000-0000-000000000000' } }, 404, 131006, 'image.id'],
    ['a template without name', { ...TEXT, type: 'template', template: { language: { code: 'en' } } }, 400, 131008, "'template.name'"],
    ['a ttl', { ...TEXT, type: 'template', template: TEMPLATE, ttl: { days: 1 } }, 400, 100, "'ttl'"],
    ['opaque data over 512 bytes', { ...TEXT, biz_opaque_callback_data: 'x'.repeat(513) }, 400, 131009, 'biz_opaque_callback_data'],
    ['a list body', [TEXT], 400, 131008, "'body'"],
  ])('answers %s with its Cloud code', async (_what, payload, status, code, named) => {
    const res = await post(`/v23.0/${t.a.id}/messages`, payload)
    expect(res.statusCode, res.body).toBe(status)
    const err = graphError(res)
    expect(err.code).toBe(code)
    expect(err.message.startsWith(`(#${code}) `)).toBe(true)
    expect(err.error_data.details).toContain(named)
  })

  it.each([
    ['a misspelled language policy', { type: 'template', template: { name: 'x', language: { code: 'en_US', policystring: 'deterministic' } } }, "template['language']", 'policystring'],
    ['an unknown top-level key', { text: { body: 'x' }, previewurl: true }, 'body', 'previewurl'],
    ['a key in a template parameter', { type: 'template', template: { name: 'x', language: { code: 'en' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'a', txt: 'b' }] }] } },
      "template['components'][0]['parameters'][0]", 'txt'],
    ['a key in a media object', { type: 'image', image: { link: 'https://x.example/a.png', captions: 'x' } }, 'image', 'captions'],
    ['a key in a contact name', { type: 'contacts', contacts: [{ name: { formatted_name: 'A', nick: 'a' } }] }, "contacts[0]['name']", 'nick'],
    ['a key in a reply button', { type: 'interactive', interactive: { type: 'button', body: { text: 'b' }, action: { buttons: [{ type: 'reply', reply: { id: 'a', title: 'A', color: 'red' } }] } } },
      "interactive['action']['buttons'][0]['reply']", 'color'],
    ['a key in cta_url parameters', { type: 'interactive', interactive: { type: 'cta_url', body: { text: 'b' }, action: { name: 'cta_url', parameters: { display_text: 'Go', url: 'https://x.example', link: 'x' } } } },
      "interactive['action']['parameters']", 'link'],
    ['a key in the context', { text: { body: 'x' }, context: { message_id: 'wamid.1', from: '1' } }, 'context', 'from'],
    ['a key in a reaction', { type: 'reaction', reaction: { message_id: 'wamid.1', emoji: '👍', emojis: 'x' } }, 'reaction', 'emojis'],
    ['a key in a location', { type: 'location', location: { latitude: 1, longitude: 2, zoom: 3 } }, 'location', 'zoom'],
  ])('refuses %s with 100 "Unexpected key", as Meta does', async (_what, body, param, key) => {
    const res = await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', to: '16315550101', ...body })
    expect(res.statusCode, res.body).toBe(400)
    expect(graphError(res)).toMatchObject({ code: 100, message: `(#100) Unexpected key "${key}" on param "${param}".`, error_data: { details: expect.stringContaining(`"${key}"`) } })
  })

  it('takes every key the Cloud body documents: a flow button\'s action, a mark read with a typing indicator', async () => {
    const flow = { name: 'signup', language: { code: 'en', policy: 'deterministic' }, components: [{ type: 'button', sub_type: 'flow', index: '0', parameters: [{ type: 'action', action: { flow_token: 'abc' } }] }] }
    const res = await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', recipient_type: 'individual', to: '16315550101', type: 'template', template: flow, biz_opaque_callback_data: 'r' })
    expect(res.statusCode, res.body).toBe(200)
    const contact = { name: { formatted_name: 'Ann Lee', first_name: 'Ann' }, phones: [{ phone: '+1 555', wa_id: '1555', type: 'CELL' }], emails: [{ email: 'a@x.example', type: 'WORK' }],
      addresses: [{ street: 'Main 1', city: 'X', state: 'Y', zip: '1', country: 'Z', country_code: 'us', type: 'HOME' }], org: { company: 'Acme', department: 'D', title: 'T' },
      urls: [{ url: 'https://x.example', type: 'WORK' }], birthday: '2000-01-01' }
    expect((await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', to: '16315550101', type: 'contacts', contacts: [contact] })).statusCode).toBe(200)
    const read = await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.none', typing_indicator: { type: 'text', speed: 1 } })
    expect(graphError(read).message).toBe('(#100) Unexpected key "speed" on param "typing_indicator".')
  })

  it('answers a template that does not exist with 132001 and HTTP 404, wrong parameters with 132000, as Meta does', async () => {
    const send = (template: object) => post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', to: '16315550101', type: 'template', template })
    const missing = await send({ ...TEMPLATE, name: 'no_such_template' })
    expect(missing.statusCode, missing.body).toBe(404)
    expect(graphError(missing)).toMatchObject({ code: 132001, error_data: { details: expect.stringContaining('no_such_template') } })
    const language = await send({ ...TEMPLATE, language: { code: 'de' } })
    expect(graphError(language)).toMatchObject({ code: 132001, error_data: { details: expect.stringContaining('language de') } })
    const count = await send({ ...TEMPLATE, components: [] })
    expect(count.statusCode, count.body).toBe(400)
    expect(graphError(count)).toMatchObject({
      code: 132000, message: '(#132000) Number of parameters does not match the expected number of params', error_data: { details: 'body: expected 1 parameters, got 0' },
    })
  })

  it('asks the network again before answering 132001: a template approved a moment ago is sent', async () => {
    const fresh = { name: 'fresh_offer', language: 'en_US', category: 'MARKETING', status: 'APPROVED', components: [{ type: 'BODY', text: 'New' }] }
    // the pack is cached for a second; the network already holds the new template
    await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', to: '16315550101', type: 'template', template: TEMPLATE })
    t.bridge.pack = { ...PACK, templates: [...PACK.templates, fresh] }
    const res = await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', to: '16315550101', type: 'template', template: { name: 'fresh_offer', language: { code: 'en_US' } } })
    t.bridge.pack = PACK
    expect(res.statusCode, res.body).toBe(200)
  })

  it('leaves the template check to the engine when the number cannot read its templates now', async () => {
    const templates = t.bridge.templates.bind(t.bridge)
    t.bridge.templates = () => Promise.reject(new Error('not connected'))
    ctx().clock.tick(1000)
    try {
      const res = await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', to: '16315550101', type: 'template', template: { ...TEMPLATE, name: 'unknown_here' } })
      expect(res.statusCode, res.body).toBe(200)
    } finally {
      t.bridge.templates = templates
      ctx().clock.tick(1000)
    }
  })

  it('accepts a template send when the network does not answer for the templates in time, and leaves the check to the engine', async () => {
    const slow = await createCloudTest(ctx(), { limits: { templateCheckMs: 50 } })
    slow.bridge.templates = () => new Promise(() => undefined)
    try {
      const res = await slow.app.inject({
        method: 'POST', url: `/${slow.a.id}/messages`, headers: { authorization: `Bearer ${slow.token}` },
        payload: { messaging_product: 'whatsapp', to: '16315550101', type: 'template', template: { ...TEMPLATE, name: 'unknown_here' } },
      })
      expect(res.statusCode, res.body).toBe(200)
    } finally {
      await slow.close()
    }
  })

  it('answers a media id of the wrong kind (a PDF sent as image) with 131053, as Meta does for a wrong MIME type', async () => {
    const id = '11111111-2222-3333-4444-555555555555'
    await t.store.media.insert({ id, phoneNumberId: t.a.id, mimeType: 'application/pdf', size: 3, sha256: 'ab', filename: 'a.pdf', direction: 'out', file: 'x' })
    const res = await post(`/${t.a.id}/messages`, { ...TEXT, type: 'image', image: { id } })
    expect(res.statusCode, res.body).toBe(400)
    expect(graphError(res)).toMatchObject({ code: 131053, message: '(#131053) Media upload error', error_data: { details: expect.stringContaining('image.id') } })
    expect((await post(`/${t.a.id}/messages`, { ...TEXT, type: 'document', document: { id } })).statusCode).toBe(200)
  })

  it('answers malformed bodies, other content types and oversized bodies in the Graph envelope', async () => {
    const json = await post(`/${t.a.id}/messages`, '{"messaging_product":', t.token, { 'content-type': 'application/json' })
    expect(json.statusCode).toBe(400)
    expect(graphError(json)).toMatchObject({ code: 131009, error_data: { details: expect.stringContaining('JSON') } })
    const xml = await post(`/${t.a.id}/messages`, '<a/>', t.token, { 'content-type': 'application/xml' })
    expect(xml.statusCode).toBe(415)
    expect(graphError(xml).error_data.details).toContain('Content-Type')
    const huge = await post(`/${t.a.id}/messages`, { ...TEXT, text: { body: 'x'.repeat(2 * 1024 * 1024) } })
    expect(huge.statusCode).toBe(413)
    expect(graphError(huge).error_data.details).toContain('too large')
  })

  it('refuses missing, unknown and revoked tokens with 190 and HTTP 401', async () => {
    const none = await post(`/${t.a.id}/messages`, TEXT, null)
    expect(none.statusCode).toBe(401)
    expect(graphError(none)).toMatchObject({ code: 190, type: 'OAuthException', message: '(#190) Access token has expired', error_data: { details: expect.stringContaining('Bearer') } })
    const unknown = await post(`/${t.a.id}/messages`, TEXT, 'EAAnot-a-token')
    expect(unknown.statusCode).toBe(401)
    expect(graphError(unknown).code).toBe(190)
    const d360 = await t.app.inject({ method: 'POST', url: `/${t.a.id}/messages`, payload: TEXT, headers: { 'd360-api-key': t.keyA } })
    expect(graphError(d360).code).toBe(190)

    const revoked = await t.store.accessTokens.create(t.wabaId, ['whatsapp_business_messaging'], 'short-lived')
    expect((await post(`/${t.a.id}/messages`, TEXT, revoked)).statusCode).toBe(200)
    await t.store.accessTokens.revoke(revoked)
    // a revocation from another process applies once the lookup cache expires
    ctx().clock.tick(1000)
    const after = await post(`/${t.a.id}/messages`, TEXT, revoked)
    expect(after.statusCode).toBe(401)
    expect(graphError(after).code).toBe(190)
  })

  it('answers a number outside the token\'s WABA exactly like one that does not exist: 100, subcode 33, HTTP 400', async () => {
    for (const id of [t.c.id, '999999999999', 'abc']) {
      const res = await post(`/v23.0/${id}/messages`, TEXT)
      expect(res.statusCode, res.body).toBe(400)
      expect(graphError(res)).toMatchObject({
        code: 100, error_subcode: 33,
        error_data: { details: `Unsupported post request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation` },
      })
    }
    expect((await post(`/${t.c.id}/messages`, TEXT, t.otherToken)).statusCode).toBe(200)
  })

  it('needs the whatsapp_business_messaging permission: 10 with HTTP 403 without it', async () => {
    expect((await post(`/${t.a.id}/messages`, TEXT, t.messagingToken)).statusCode).toBe(200)
    const res = await post(`/${t.a.id}/messages`, TEXT, t.managementToken)
    expect(res.statusCode).toBe(403)
    expect(graphError(res)).toMatchObject({ code: 10, error_data: { details: expect.stringContaining('whatsapp_business_messaging') } })
  })

  it('refuses an On-Premises number, naming /v1; /v1/messages refuses a Cloud number, naming the Cloud API', async () => {
    const res = await post(`/v23.0/${t.b.id}/messages`, TEXT)
    expect(res.statusCode).toBe(400)
    expect(graphError(res)).toMatchObject({ code: 100, error_data: { details: expect.stringMatching(/hosted On-Premises.*\/v1/) } })

    const onPrem = await call(t.app, { d360: t.keyA }, { method: 'POST', url: '/v1/messages', payload: { to: '16315550101', text: { body: 'x' } } })
    expect(onPrem.statusCode).toBe(403)
    expect(firstError(onPrem)).toMatchObject({ code: 1005, details: expect.stringMatching(/hosted on the Cloud API.*\/messages/) })
    expect((await call(t.app, { d360: t.keyB }, { method: 'POST', url: '/v1/messages', payload: { to: '16315550101', text: { body: 'x' } } })).statusCode).toBe(201)
  })

  describe('mark read', () => {
    beforeAll(async () => {
      await ctx().database.db.insertInto('messages').values({
        id: 'wamid.cloudIn', phone_number_id: t.a.id, direction: 'in', peer: '16315550101', type: 'text', content: ctx().sealer.sealJson({}),
        status: 'received', shard: 0, error: null, category: null, conversation_id: null, expires_at: null, created_at: 1, updated_at: 1,
      }).execute()
    })

    it('marks an inbound message read: {success: true}; with a typing indicator the phone is told too', async () => {
      const read = await post(`/v23.0/${t.a.id}/messages`, { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.cloudIn' })
      expect(read.statusCode, read.body).toBe(200)
      expect(read.json()).toEqual({ success: true })
      expect(t.bridge.last('markRead')).toEqual([t.a.id, 'wamid.cloudIn'])

      const typing = await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.cloudIn', typing_indicator: { type: 'text' } })
      expect(typing.json()).toEqual({ success: true })
      expect(t.bridge.last('markRead')).toEqual([t.a.id, 'wamid.cloudIn', { typing: true }])
    })

    it.each([
      ['another status', { status: 'delivered', message_id: 'wamid.cloudIn' }, 400, 131009, "'status'"],
      ['no message_id', { status: 'read' }, 400, 131008, "'message_id'"],
      ['a bad typing indicator', { status: 'read', message_id: 'wamid.cloudIn', typing_indicator: { type: 'audio' } }, 400, 131009, "'typing_indicator'"],
      ['an unknown message', { status: 'read', message_id: 'wamid.nope' }, 404, 131006, 'wamid.nope'],
      ['no messaging_product', { messaging_product: undefined, status: 'read', message_id: 'wamid.cloudIn' }, 400, 100, 'messaging_product'],
    ])('answers %s with its Cloud code', async (_what, payload, status, code, named) => {
      const res = await post(`/${t.a.id}/messages`, { messaging_product: 'whatsapp', ...payload })
      expect(res.statusCode, res.body).toBe(status)
      expect(graphError(res).code).toBe(code)
      expect(graphError(res).error_data.details).toContain(named)
    })
  })

  it('answers unknown Graph paths with 100 in the Graph envelope, and 405 with Allow', async () => {
    for (const url of ['/v23.0/nosuch', `/v23.0/${t.a.id}/nosuch`, `/${t.a.id}/messages/extra`]) {
      const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${t.token}` } })
      expect(res.statusCode, url).toBe(400)
      expect(graphError(res)).toMatchObject({ code: 100, error_data: { details: expect.stringContaining('Unsupported get request') } })
    }
    const wrongMethod = await t.app.inject({ method: 'PUT', url: `/v23.0/${t.a.id}/messages` })
    expect(wrongMethod.statusCode).toBe(405)
    expect(wrongMethod.headers.allow).toContain('POST')
    expect(graphError(wrongMethod).error_data.details).toContain('POST')
    // On-Prem paths keep their own envelope
    const onPrem = await t.app.inject({ method: 'GET', url: '/v1/nosuch' })
    expect(firstError(onPrem)).toMatchObject({ code: 1006 })
  })
})

describeEachDatabase('Cloud API: throughput', (ctx) => {
  it('allows 80 messages per second per number with bursts, then 130429 with HTTP 400 until the bucket refills', async () => {
    const t = await createCloudTest(ctx(), { limits: { messagesBurst: 100_000, otherBurst: 100_000, cloudMessagesPerSecond: 2, cloudMessagesBurst: 3 } })
    try {
      const send = () => t.app.inject({ method: 'POST', url: `/v23.0/${t.a.id}/messages`, payload: TEXT, headers: { authorization: `Bearer ${t.token}` } })
      for (let i = 0; i < 3; i++) expect((await send()).statusCode).toBe(200)
      const over = await send()
      expect(over.statusCode).toBe(400)
      expect(graphError(over)).toMatchObject({ code: 130429, message: '(#130429) Rate limit hit', error_data: { details: expect.stringContaining('2 messages per second') } })
      // another number's bucket is its own
      expect((await t.app.inject({ method: 'POST', url: `/${t.c.id}/messages`, payload: TEXT, headers: { authorization: `Bearer ${t.otherToken}` } })).statusCode).toBe(200)
      ctx().clock.tick(500)
      expect((await send()).statusCode).toBe(200)
      expect((await send()).statusCode).toBe(400)
    } finally {
      await t.close()
    }
  })

})
