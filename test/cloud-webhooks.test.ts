import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import type { InjectOptions } from 'fastify'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { WebhookDispatcher } from '../src/webhooks/index.js'
import { CallbackVerifier } from '../src/webhooks/handshake.js'
import { createCloudTest, graphError, type CloudTest } from './helpers/cloud.js'
import { describeEachDatabase } from './helpers/databases.js'
import { startWebServer, VERSION } from './helpers/webapp.js'
import { WebhookReceiver } from './helpers/webhook-receiver.js'
import { eventIds, statusEvent } from './webhooks-harness.js'

// one receiver for every test: each test uses paths of its own
const receiver = new WebhookReceiver()
beforeAll(() => receiver.start())
afterAll(() => receiver.close())

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = http.createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

describeEachDatabase('Cloud webhook configuration: app, WABA and phone number levels', (ctx, dialect) => {
  // the receiver is shared: each database's run has paths of its own
  const at = (path: string) => `/${dialect}${path}`
  const hook = (path: string) => receiver.url(at(path))
  let t: CloudTest
  let appId: string
  let appToken: string
  beforeAll(async () => {
    t = await createCloudTest(ctx(), {
      limits: { messagesBurst: 100_000, otherBurst: 100_000, webhookHandshakeTimeoutMs: 1500 },
      allowInsecureWebhooks: true,
      // rebind.example passes the check when the URL is set, then resolves to a private address when the handshake connects
      resolveWebhookHost: async (host) => (host === 'internal.example' ? ['10.0.0.7'] : ['93.184.216.34']),
      callbackVerifier: new CallbackVerifier({ resolve: async (host) => [{ address: host === 'rebind.example' ? '10.0.0.8' : '93.184.216.34', family: 4 }] }),
    })
    const app = await t.store.apps.create({ name: 'Acme app' })
    await t.store.wabas.setApp(t.wabaId, app.id)
    appId = app.id
    appToken = `${app.id}|${app.secret}`
  })
  afterAll(() => t.close())

  const graph = (token: string | null, opts: InjectOptions) =>
    t.app.inject({ ...opts, headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...opts.headers } })
  const subscribeApp = (token: string, payload: object, version = 'v23.0') =>
    graph(token, { method: 'POST', url: `/${version}/${appId}/subscriptions`, payload })
  const appSubscription = async (version = 'v23.0') => (await graph(appToken, { method: 'GET', url: `/${version}/${appId}/subscriptions` })).json()
  const APP = { object: 'whatsapp_business_account', verify_token: 'app-secret-token' }

  it('subscribes the app after a GET handshake with the verify token of the request, and shows and deletes it', async () => {
    const res = await subscribeApp(appToken, { ...APP, callback_url: hook('/app-level'), fields: 'messages, account_update' })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({ success: true })
    const [handshake] = receiver.handshakesTo(at('/app-level'))
    expect(handshake).toMatchObject({ mode: 'subscribe', verifyToken: 'app-secret-token', challenge: expect.stringMatching(/^\d+$/) as unknown })

    expect(await appSubscription('v24.0')).toEqual({ data: [{
      object: 'whatsapp_business_account', callback_url: hook('/app-level'), active: true,
      fields: [{ name: 'messages', version: 'v24.0' }, { name: 'account_update', version: 'v24.0' }],
    }] })
    // Meta's DELETE with fields drops only those; without, the whole subscription
    const some = await graph(appToken, { method: 'DELETE', url: `/${appId}/subscriptions?object=whatsapp_business_account&fields=account_update` })
    expect(some.json()).toEqual({ success: true })
    expect((await appSubscription()).data[0].fields).toEqual([{ name: 'messages', version: 'v23.0' }])
    const all = await graph(appToken, { method: 'DELETE', url: `/v23.0/${appId}/subscriptions?object=whatsapp_business_account` })
    expect(all.json()).toEqual({ success: true })
    expect(await appSubscription()).toEqual({ data: [] })
    expect(await t.store.webhookSubscriptions.getApp(appId)).toBeUndefined()
  })

  it('takes fields as a JSON array and form-encoded bodies, with a management token of a WABA the app serves', async () => {
    const json = await subscribeApp(t.managementToken, { ...APP, callback_url: hook('/app-json'), fields: ['messages', 'message_template_status_update'] })
    expect(json.statusCode, json.body).toBe(200)
    expect((await t.store.webhookSubscriptions.getApp(appId))?.fields).toEqual(['messages', 'message_template_status_update'])
    const form = await graph(t.token, {
      method: 'POST', url: `/${appId}/subscriptions`, headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ ...APP, callback_url: hook('/app-form'), fields: 'messages' }).toString(),
    })
    expect(form.statusCode, form.body).toBe(200)
    expect(await t.store.webhookSubscriptions.getApp(appId)).toEqual({ url: hook('/app-form'), verifyToken: 'app-secret-token', fields: ['messages'] })
  })

  it('sets, shows and removes the WABA override; no body subscribes the app alone; DELETE unsubscribes it', async () => {
    const apps = () => graph(t.managementToken, { method: 'GET', url: `/v23.0/${t.wabaId}/subscribed_apps` })
    const app = { id: appId, name: 'Acme app', link: `http://localhost:80/${appId}` }
    expect((await apps()).json()).toEqual({ data: [{ whatsapp_business_api_data: app }] })

    const set = await graph(t.token, { method: 'POST', url: `/v23.0/${t.wabaId}/subscribed_apps`, payload: { override_callback_uri: hook('/waba-level'), verify_token: 'waba-token' } })
    expect(set.statusCode, set.body).toBe(200)
    expect(set.json()).toEqual({ success: true })
    expect(receiver.handshakesTo(at('/waba-level'))[0]?.verifyToken).toBe('waba-token')
    expect((await apps()).json()).toEqual({ data: [{ whatsapp_business_api_data: app, override_callback_uri: hook('/waba-level') }] })

    const failed = await graph(t.token, { method: 'POST', url: `/${t.wabaId}/subscribed_apps`, payload: { override_callback_uri: `http://127.0.0.1:${await closedPort()}/x`, verify_token: 'v' } })
    expect(graphError(failed)).toMatchObject({ code: 2200, error_data: { details: expect.stringContaining('override_callback_uri: GET') as unknown } })
    const missingToken = await graph(t.token, { method: 'POST', url: `/${t.wabaId}/subscribed_apps`, payload: { override_callback_uri: hook('/waba-level') } })
    expect(graphError(missingToken)).toMatchObject({ code: 131008, error_data: { details: expect.stringContaining("'verify_token'") as unknown } })
    expect((await apps()).json().data[0].override_callback_uri).toBe(hook('/waba-level'))

    const plain = await graph(t.token, { method: 'POST', url: `/${t.wabaId}/subscribed_apps` })
    expect(plain.json()).toEqual({ success: true })
    expect((await apps()).json()).toEqual({ data: [{ whatsapp_business_api_data: app }] })
    const gone = await graph(t.token, { method: 'DELETE', url: `/${t.wabaId}/subscribed_apps` })
    expect(gone.json()).toEqual({ success: true })
    expect((await apps()).json()).toEqual({ data: [] })
    expect((await t.store.wabas.get(t.wabaId))?.appId).toBeNull()
    // the deployment's only app comes back with the next subscription
    expect((await graph(t.token, { method: 'POST', url: `/${t.wabaId}/subscribed_apps`, payload: {} })).json()).toEqual({ success: true })
    expect((await apps()).json()).toEqual({ data: [{ whatsapp_business_api_data: app }] })
  })

  it('refuses callers that may not manage the app: 190 for a bad token, 10 without the management scope, 100 for another app', async () => {
    const body = { ...APP, callback_url: hook('/app-refused'), fields: 'messages' }
    for (const token of ['EAAnot-a-token', `${appId}|0123456789abcdef0123456789abcdef`, null]) {
      const res = token === null ? await graph(null, { method: 'POST', url: `/${appId}/subscriptions`, payload: body }) : await subscribeApp(token, body)
      expect(res.statusCode).toBe(401)
      expect(graphError(res)).toMatchObject({ code: 190, type: 'OAuthException' })
    }
    const messaging = await subscribeApp(t.messagingToken, body)
    expect(messaging.statusCode).toBe(403)
    expect(graphError(messaging)).toMatchObject({ code: 10, error_data: { details: expect.stringContaining('whatsapp_business_management') as unknown } })
    const other = await subscribeApp(t.otherToken, body)
    expect(other.statusCode).toBe(400)
    expect(graphError(other)).toMatchObject({ code: 100, error_data: { details: expect.stringContaining(`Object with ID '${appId}'`) as unknown } })
    const otherApp = await t.store.apps.create({ name: 'Someone else' })
    const wrongApp = await subscribeApp(`${otherApp.id}|${otherApp.secret}`, body)
    expect(graphError(wrongApp).code).toBe(100)
    expect(receiver.handshakesTo(at('/app-refused'))).toEqual([])
  })

  it('answers 2200 naming what came back when the handshake fails, and keeps the previous subscription', async () => {
    await subscribeApp(appToken, { ...APP, callback_url: hook('/app-kept'), fields: 'messages' })
    receiver.handshakeAnswers.set(at('/wrong-body'), () => ({ status: 200, body: 'hello' }))
    receiver.handshakeAnswers.set(at('/forbidden'), (h) => (h.verifyToken === 'expected' ? { status: 200, body: h.challenge ?? '' } : { status: 403, body: 'verify token mismatch' }))
    receiver.handshakeAnswers.set(at('/hang'), () => 'hang')
    const port = await closedPort()
    const failures: [string, string][] = [
      [hook('/wrong-body'), 'answered 200 with the body "hello", not the hub.challenge'],
      [hook('/forbidden'), 'answered HTTP 403 with the body "verify token mismatch"; it must answer 200'],
      [`http://127.0.0.1:${port}/hook`, 'ECONNREFUSED'],
      [hook('/hang'), 'did not answer within 1500 ms'],
      ['https://rebind.example/hook', 'resolves to 10.0.0.8, a private address'],
    ]
    for (const [url, problem] of failures) {
      const res = await subscribeApp(appToken, { ...APP, callback_url: url, fields: 'messages' })
      expect(res.statusCode, url).toBe(400)
      const error = graphError(res)
      expect(error).toMatchObject({ code: 2200, message: '(#2200) Callback verification failed', type: 'OAuthException' })
      expect(error.error_data.details).toContain('Callback verification failed with the following errors: callback_url:')
      expect(error.error_data.details).toContain(problem)
      expect(error.error_data.details).not.toContain('app-secret-token')
    }
    expect(receiver.handshakesTo(at('/forbidden'))[0]?.verifyToken).toBe('app-secret-token')
    expect((await subscribeApp(appToken, { ...APP, verify_token: 'expected', callback_url: hook('/forbidden'), fields: 'messages' })).statusCode).toBe(200)
    await subscribeApp(appToken, { ...APP, callback_url: hook('/app-kept'), fields: 'messages' })
    expect((await appSubscription()).data[0].callback_url).toBe(hook('/app-kept'))
  })

  it('refuses private, metadata and plain-http addresses before any handshake, naming the field', async () => {
    for (const [url, rule] of [
      ['https://10.1.2.3/hook', '10.1.2.3 is a private address'],
      ['https://169.254.169.254/latest/meta-data', 'link-local address'],
      ['https://internal.example/hook', 'internal.example resolves to 10.0.0.7'],
      ['http://example.com/hook', 'must be an https:// URL'],
      ['not a url', 'must be an absolute https:// URL'],
    ]) {
      const res = await subscribeApp(appToken, { ...APP, callback_url: url, fields: 'messages' })
      expect(res.statusCode, url).toBe(400)
      expect(graphError(res)).toMatchObject({ code: 131009, error_data: { details: expect.stringContaining("'callback_url'") as unknown } })
      expect(graphError(res).error_data.details).toContain(rule)
    }
  })

  it('names the parameter and the rule of every bad subscription request', async () => {
    const base = { ...APP, callback_url: hook('/app-bad'), fields: 'messages' }
    const cases: [object, number, string][] = [
      [{ ...base, object: 'page' }, 131009, "'object': must be \"whatsapp_business_account\""],
      [{ ...base, object: undefined }, 131008, "'object'"],
      [{ ...base, verify_token: undefined }, 131008, "'verify_token'"],
      [{ ...base, verify_token: '' }, 131009, "'verify_token': must not be empty"],
      [{ ...base, verify_token: 'x'.repeat(1025) }, 131009, 'at most 1024 characters (got 1025)'],
      [{ ...base, callback_url: undefined }, 131008, "'callback_url'"],
      [{ ...base, fields: 'messages,no_such_field' }, 131009, "'fields[1]': \"no_such_field\" is not a field of whatsapp_business_account"],
      [{ ...base, fields: '' }, 131009, "'fields': must name at least one field"],
      [{ ...base, fields: 7 }, 131009, "'fields'"],
      [{ ...base, colour: 'blue' }, 100, "'colour' is not allowed"],
    ]
    for (const [payload, code, details] of cases) {
      const res = await subscribeApp(appToken, payload)
      expect(graphError(res), JSON.stringify(payload).slice(0, 80)).toMatchObject({ code, error_data: { details: expect.stringContaining(details) as unknown } })
    }
    expect(receiver.handshakesTo(at('/app-bad'))).toEqual([])
  })

  it('refuses the WABA level to other WABAs, app tokens and tokens without the management scope', async () => {
    const url = `/${t.wabaId}/subscribed_apps`
    expect(graphError(await graph(t.otherToken, { method: 'GET', url }))).toMatchObject({ code: 100, error_subcode: 33 })
    expect(graphError(await graph(appToken, { method: 'POST', url }))).toMatchObject({ code: 100 })
    const messaging = await graph(t.messagingToken, { method: 'GET', url })
    expect([messaging.statusCode, graphError(messaging).code]).toEqual([403, 10])
    expect(graphError(await graph('EAAbogus', { method: 'DELETE', url }))).toMatchObject({ code: 190 })
    // with several apps and none subscribed, a token of the WABA cannot say which app it means
    expect((await graph(t.token, { method: 'DELETE', url })).json()).toEqual({ success: true })
    expect(graphError(await graph(t.token, { method: 'POST', url }))).toMatchObject({ code: 100, error_data: { details: expect.stringContaining('no app to subscribe') as unknown } })
    await t.store.wabas.setApp(t.wabaId, appId)
  })

  const setPhone = (id: string, config: object, token = t.managementToken) =>
    graph(token, { method: 'POST', url: `/v23.0/${id}`, payload: { webhook_configuration: config } })
  const configuration = async (id: string) => (await graph(t.token, { method: 'GET', url: `/${id}?fields=webhook_configuration` })).json()

  it('sets, shows and removes the phone number override; GET ?fields=webhook_configuration shows every level', async () => {
    await subscribeApp(appToken, { ...APP, callback_url: hook('/conf-app'), fields: 'messages' })
    await graph(t.token, { method: 'POST', url: `/${t.wabaId}/subscribed_apps`, payload: { override_callback_uri: hook('/conf-waba'), verify_token: 'w' } })
    const res = await setPhone(t.a.id, { override_callback_uri: hook('/conf-phone'), verify_token: 'phone-token' })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({ success: true })
    expect(receiver.handshakesTo(at('/conf-phone'))[0]?.verifyToken).toBe('phone-token')
    expect(await configuration(t.a.id)).toEqual({
      webhook_configuration: { phone_number: hook('/conf-phone'), whatsapp_business_account: hook('/conf-waba'), application: hook('/conf-app') },
      id: t.a.id,
    })
    expect((await setPhone(t.a.id, { override_callback_uri: '' })).json()).toEqual({ success: true })
    expect((await configuration(t.a.id)).webhook_configuration).toEqual({ whatsapp_business_account: hook('/conf-waba'), application: hook('/conf-app') })
  })

  it('refuses a bad phone number override with the field and rule, and numbers the token cannot manage', async () => {
    const bad: [object, number, string][] = [
      [{ override_callback_uri: hook('/conf-phone') }, 131008, "'webhook_configuration.verify_token'"],
      [{ override_callback_uri: 'https://10.0.0.1/x', verify_token: 'v' }, 131009, "'webhook_configuration.override_callback_uri': 10.0.0.1 is a private address"],
      [{ override_callback_uri: hook('/wrong-body'), verify_token: 'v' }, 2200, 'webhook_configuration.override_callback_uri: GET'],
      [{ override_callback_uri: hook('/conf-phone'), verify_token: 'v', fields: 'messages' }, 100, "'webhook_configuration.fields' is not allowed"],
    ]
    for (const [config, code, details] of bad) {
      expect(graphError(await setPhone(t.a.id, config)), JSON.stringify(config)).toMatchObject({ code, error_data: { details: expect.stringContaining(details) as unknown } })
    }
    expect(graphError(await graph(t.token, { method: 'POST', url: `/${t.a.id}`, payload: { webhook_configuration: 'x' } }))).toMatchObject({ code: 131009 })
    expect(graphError(await graph(t.token, { method: 'POST', url: `/${t.a.id}`, payload: {} }))).toMatchObject({ code: 131008 })
    const config = { override_callback_uri: hook('/conf-phone'), verify_token: 'v' }
    // b is On-Premises: its webhook is /v1's; c belongs to another WABA; the messaging scope does not manage
    expect(graphError(await setPhone(t.b.id, config))).toMatchObject({ code: 100, error_data: { details: expect.stringContaining('hosted On-Premises') as unknown } })
    expect(graphError(await setPhone(t.c.id, config))).toMatchObject({ code: 100, error_subcode: 33 })
    expect(graphError(await setPhone(t.a.id, config, t.messagingToken))).toMatchObject({ code: 10 })
    expect(graphError(await setPhone(t.a.id, config, appToken))).toMatchObject({ code: 100 })
    expect((await configuration(t.a.id)).webhook_configuration.phone_number).toBeUndefined()
  })

  it('delivers a Cloud number\'s messages notifications to the phone override, else the WABA override, else the app', async () => {
    await subscribeApp(appToken, { ...APP, callback_url: hook('/to-app'), fields: 'messages' })
    await graph(t.token, { method: 'POST', url: `/${t.wabaId}/subscribed_apps`, payload: { override_callback_uri: hook('/to-waba'), verify_token: 'w' } })
    await setPhone(t.a.id, { override_callback_uri: hook('/to-phone'), verify_token: 'p' })
    const { store, clock } = ctx()
    const dispatcher = new WebhookDispatcher({ store, clock, logger: pino({ level: 'silent' }), allowInsecureLoopback: true })
    const deliveredTo = async (eventId: string) => {
      const id = `wamid.${dialect}.${eventId}`
      await store.callbacks.enqueue(t.a.id, statusEvent(id))
      expect(await dispatcher.runOnce()).toBe(1)
      return receiver.posts.filter((p) => eventIds(p.body).includes(id)).map((p) => p.path)
    }
    try {
      expect(await deliveredTo('levels-1')).toEqual([at('/to-phone')])
      await setPhone(t.a.id, { override_callback_uri: '' })
      expect(await deliveredTo('levels-2')).toEqual([at('/to-waba')])
      await graph(t.token, { method: 'POST', url: `/${t.wabaId}/subscribed_apps` })
      expect(await deliveredTo('levels-3')).toEqual([at('/to-app')])
    } finally {
      await dispatcher.stop(1000)
    }
  })

  it('lists the subscription routes in /docs under the cloud tag', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, { tags?: string[] }>> }
    for (const path of ['/{id}/subscriptions', '/{id}/subscribed_apps']) {
      expect(Object.keys(doc.paths[path] ?? {}).sort(), path).toEqual(['delete', 'get', 'post'])
      expect(doc.paths[path]?.post?.tags).toEqual(['cloud'])
    }
  })

  it('configures the WABA override through @great-detail/whatsapp, unmodified, over HTTP', async () => {
    const { Client } = await import('@great-detail/whatsapp')
    const server = await startWebServer({
      store: t.store, clock: ctx().clock, bridge: t.bridge, media: t.media, version: VERSION, registry: new Registry(),
      dataDir: path.join(ctx().dir, 'sdk'), allowInsecureWebhooks: true, host: '127.0.0.1', port: 0, http: true,
    })
    try {
      const sdk = new Client({ prefixUrl: server.url, graphVersion: 'v23.0', request: { headers: { Authorization: `Bearer ${t.token}` } } })
      const created = await sdk.subscribedApps.createSubscription({ businessAccountID: t.wabaId, override_callback_uri: hook('/sdk-waba'), verify_token: 'sdk-token' }).json()
      expect(created).toEqual({ success: true })
      expect(receiver.handshakesTo(at('/sdk-waba'))[0]?.verifyToken).toBe('sdk-token')
      const listed = await sdk.subscribedApps.listSubscriptions({ businessAccountID: t.wabaId }).json()
      expect(listed.data).toEqual([{ whatsapp_business_api_data: expect.objectContaining({ id: appId }) as unknown, override_callback_uri: hook('/sdk-waba') }])
    } finally {
      await server.close()
    }
  })
})
