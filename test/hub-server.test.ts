import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachDatabase } from './helpers/databases.js'
import { HubQueries } from '../src/store/hub-queries.js'
import { ChartSampler, SAMPLE_MS } from '../src/webapp/hub/charts.js'
import { HubEventBus, type HubTopic } from '../src/webapp/hub/event-bus.js'
import { ensureHubBuilt } from './helpers/hub-build.js'
import { eventually } from './helpers/wabox-process.js'
import { ADMIN_PASSWORD, createWebTest, type WebTest } from './helpers/webapp.js'

/** What inject sends as Host: a page of the Hub has this origin. */
const ORIGIN = 'http://localhost:80'

describeEachDatabase('the Hub on the API listener', (ctx) => {
  let t: WebTest
  let cookie: string
  const bus = new HubEventBus()
  beforeAll(async () => {
    await ensureHubBuilt()
    t = await createWebTest(ctx(), { hub: { events: bus } })
    const res = await signIn('admin', ADMIN_PASSWORD)
    cookie = String(res.headers['set-cookie']).split(';')[0]!
  })
  afterAll(() => t.close())

  const signIn = (username: string, password: string, extra: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/hub/api/session', headers: { origin: ORIGIN }, payload: { username, password, ...extra } })
  const call = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
    t.app.inject({ method, url, headers: { cookie, origin: ORIGIN, ...headers }, ...(payload === undefined ? {} : { payload: payload as object }) })

  it('serves its page with a strict Content-Security-Policy and no inline script', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/hub/' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/text\/html/)
    expect(res.headers['content-security-policy']).toMatch(/^default-src 'self'/)
    expect(res.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/)
    expect(res.headers['x-frame-options']).toBe('DENY')
    expect(res.body).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/)
    const script = /src="(\/hub\/assets\/[^"]+\.js)"/.exec(res.body)?.[1]
    const asset = await t.app.inject({ method: 'GET', url: script! })
    expect(asset.statusCode).toBe(200)
    expect(asset.headers['content-type']).toMatch(/javascript/)
  })

  it('answers its API only to a signed-in deployment admin', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/hub/api/numbers' })).statusCode).toBe(401)
    expect((await signIn('admin', 'wrong-Passw0rd!')).statusCode).toBe(401)
    await t.store.users.create({ username: 'tenant', password: 'Tenant#Pass1', role: 'ROLE_ADMIN', phoneNumberId: t.a.id })
    const bound = await signIn('tenant', 'Tenant#Pass1')
    expect(bound.statusCode).toBe(403)
    expect(bound.json()).toMatchObject({ error: { details: expect.stringMatching(/deployment admin/) } })
  })

  it('sets an HttpOnly, SameSite=Strict session cookie scoped to /hub/ (no Secure over plain HTTP)', async () => {
    const res = await signIn('admin', ADMIN_PASSWORD)
    expect(res.statusCode).toBe(200)
    const set = String(res.headers['set-cookie'])
    expect(set).toMatch(/^wabox_hub=[^;]+; Path=\/hub\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/)
    const me = await call('GET', '/hub/api/session')
    expect(me.json()).toEqual({ username: 'admin' })
  })

  it('ends the event streams of a session when it signs out, and refuses the next one', async () => {
    const other = String((await signIn('admin', ADMIN_PASSWORD)).headers['set-cookie']).split(';')[0]!
    const listening = bus.listeners
    const stream = t.app.inject({ method: 'GET', url: '/hub/api/events', headers: { cookie: other } })
    await eventually(async () => (bus.listeners > listening ? true : undefined), 5000)
    const out = await t.app.inject({ method: 'DELETE', url: '/hub/api/session', headers: { cookie: other, origin: ORIGIN } })
    expect(out.statusCode).toBe(200)
    // a stream left open would hold this until the test's timeout
    expect((await stream).statusCode).toBe(200)
    expect(bus.listeners).toBe(listening)
    expect((await t.app.inject({ method: 'GET', url: '/hub/api/events', headers: { cookie: other } })).statusCode).toBe(401)
  })

  it('refuses a change without its own Origin (CSRF)', async () => {
    const body = { to: '15550001111', text: 'hi' }
    const foreign = await call('POST', `/hub/api/numbers/${t.a.id}/messages`, body, { origin: 'https://evil.example' })
    expect(foreign.statusCode).toBe(403)
    const none = await t.app.inject({ method: 'POST', url: `/hub/api/numbers/${t.a.id}/messages`, headers: { cookie }, payload: body })
    expect(none.statusCode).toBe(403)
    expect(none.json()).toMatchObject({ error: { details: expect.stringMatching(/no Origin/) } })
  })

  it('lists the numbers with their health, webhook, backlog and data-residency region', async () => {
    const partner = await t.store.partners.create('BSP')
    const client = await t.store.clients.create(partner.id, 'Shop')
    const waba = await t.store.clients.createWaba(partner.id, client.id, 'German WABA', 'DE')
    await t.store.numbers.setHosting(t.b.id, { wabaId: waba!.id })
    const res = await call('GET', '/hub/api/numbers')
    expect(res.statusCode).toBe(200)
    const numbers = (res.json() as { numbers: { id: string; health: string; backlog: { pending: number } }[] }).numbers
    expect(numbers.find((n) => n.id === t.a.id)).toMatchObject({ health: 'connected', backlog: { pending: expect.any(Number) }, region: null })
    expect(numbers.find((n) => n.id === t.b.id)).toMatchObject({ region: 'DE' })
  })

  it('sends as the business and shows the message in the chat with its status', async () => {
    const sent = await call('POST', `/hub/api/numbers/${t.a.id}/messages`, { to: '15550002222', text: 'Your order shipped' })
    expect(sent.statusCode).toBe(201)
    const { id } = sent.json() as { id: string }
    const chats = (await call('GET', `/hub/api/numbers/${t.a.id}/conversations`)).json() as { conversations: { peer: string; last: { preview: string } }[] }
    expect(chats.conversations).toContainEqual(expect.objectContaining({ peer: '15550002222', last: expect.objectContaining({ preview: 'Your order shipped' }) }))
    const chat = (await call('GET', `/hub/api/numbers/${t.a.id}/conversations/15550002222`)).json() as { messages: { id: string; status: string; direction: string }[] }
    expect(chat.messages).toEqual([expect.objectContaining({ id, direction: 'out', status: 'queued' })])
    const bad = await call('POST', `/hub/api/numbers/${t.a.id}/messages`, { to: '15550002222', text: '' })
    expect(bad.statusCode).toBe(400)
  })

  it('replays callbacks, those already answered 200 included', async () => {
    const event = { type: 'status', id: 'wamid.HUB1', status: 'delivered', recipient_id: '15550002222', timestamp: 1 } as never
    await t.store.callbacks.enqueue(t.a.id, event)
    const [claimed] = await t.store.callbacks.claim(t.a.id, 10, 60_000, 'test')
    const now = t.db.clock.now()
    await t.store.callbacks.record([{ seq: claimed!.seq, phoneNumberId: t.a.id, at: now, httpStatus: 200, latencyMs: 12, error: null, next: { kind: 'done' } }], 'test')
    const listed = (await call('GET', `/hub/api/numbers/${t.a.id}/callbacks`)).json() as { callbacks: { seq: number; status: string; attempts: { httpStatus: number }[] }[] }
    expect(listed.callbacks.find((c) => c.seq === claimed!.seq)).toMatchObject({ status: 'done', attempts: [{ httpStatus: 200 }] })
    const replay = await call('POST', `/hub/api/numbers/${t.a.id}/callbacks/replay`, { seqs: [claimed!.seq] })
    expect(replay.json()).toEqual({ queued: 1 })
    expect((await t.store.callbacks.get(t.a.id, claimed!.seq))?.status).toBe('pending')
    expect((await call('POST', `/hub/api/numbers/${t.a.id}/callbacks/replay`, { seqs: ['x'] })).statusCode).toBe(400)
  })

  it('refuses a webhook URL longer than the 2,048 characters the API accepts', async () => {
    const long = `https://hooks.example.com/${'a'.repeat(2990)}`
    const res = await call('PUT', `/hub/api/numbers/${t.a.id}/webhook`, { url: long })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ error: { details: expect.stringMatching(/at most 2048 characters/) } })
    expect((await call('GET', '/hub/api/numbers')).json().numbers.find((n: { id: string }) => n.id === t.a.id).webhookUrl).not.toBe(long)
  })

  it('says the phones are elsewhere when none are injected', async () => {
    expect((await call('GET', '/hub/api/numbers')).json()).toMatchObject({ phonesAvailable: false })
    expect((await call('GET', '/hub/api/phones')).statusCode).toBe(404)
  })

  it('lists and submits templates over the template use cases; review only where the network plays Meta', async () => {
    const created = await call('POST', `/hub/api/numbers/${t.a.id}/templates`, { name: 'hub_ready', language: 'en_US', category: 'UTILITY', components: [{ type: 'BODY', text: 'Ready' }] })
    expect(created.statusCode).toBe(201)
    const listed = (await call('GET', `/hub/api/numbers/${t.a.id}/templates`)).json() as { templates: { name: string; status: string }[]; review: boolean }
    expect(listed.review).toBe(false)
    expect(listed.templates).toContainEqual(expect.objectContaining({ name: 'hub_ready', status: 'PENDING' }))
    expect((await call('POST', `/hub/api/numbers/${t.a.id}/templates`, { name: 'Bad Name!' })).statusCode).toBe(400)
    expect((await call('POST', '/hub/api/templates/1/approve', {})).statusCode).toBe(404)
  })

  it('charts accepted sends per second and their accept latency from the /metrics counters', async () => {
    const bus = new HubEventBus()
    const heard: HubTopic[] = []
    bus.subscribe((topic) => heard.push(topic))
    const charts = new ChartSampler(t.registry, new HubQueries(t.store.ctx), t.db.clock, bus)
    await charts.sample()
    for (let i = 0; i < 5; i++) {
      expect((await call('POST', `/hub/api/numbers/${t.a.id}/messages`, { to: '15550003333', text: `n${i}` })).statusCode).toBe(201)
    }
    t.db.clock.tick(SAMPLE_MS)
    await charts.sample()
    const [point] = charts.points
    expect(point).toMatchObject({ acceptedPerS: 5 / (SAMPLE_MS / 1000), acceptP50Ms: expect.any(Number), acceptP99Ms: expect.any(Number) })
    expect(heard).toContain('metrics')
    expect((await call('GET', '/hub/api/charts')).json()).toEqual({ points: [] })
  })

  it('skips a chart sample the database cannot answer, and samples again after', async () => {
    const queries = new HubQueries(t.store.ctx)
    const charts = new ChartSampler(t.registry, queries, t.db.clock, new HubEventBus())
    await charts.sample()
    const delivered = queries.deliveredTotal.bind(queries)
    queries.deliveredTotal = () => Promise.reject(new Error('database unreachable'))
    t.db.clock.tick(SAMPLE_MS)
    await expect(charts.sample()).resolves.toBeUndefined()
    queries.deliveredTotal = delivered
    t.db.clock.tick(SAMPLE_MS)
    await charts.sample()
    expect(charts.points).toHaveLength(1)
  })

  it('asks for a new password while the default one is in use, as On-Prem does', async () => {
    await t.store.users.delete('admin')
    await t.store.users.ensureDefaultAdmin()
    const first = await signIn('admin', 'secret')
    expect(first.statusCode).toBe(401)
    expect(first.json()).toMatchObject({ error: { code: 1024 } })
    expect((await signIn('admin', 'secret', { newPassword: 'weak' })).statusCode).toBe(400)
    const changed = await signIn('admin', 'secret', { newPassword: ADMIN_PASSWORD })
    expect(changed.statusCode).toBe(200)
    expect((await signIn('admin', ADMIN_PASSWORD)).statusCode).toBe(200)
  })

  it('slows down a client guessing passwords', async () => {
    const answers: number[] = []
    for (let i = 0; i < 12; i++) answers.push((await signIn('admin', `Guess-${i}-Pass!`)).statusCode)
    expect(answers).toContain(429)
    expect(answers.filter((s) => s !== 429).every((s) => s === 401)).toBe(true)
  })
})
