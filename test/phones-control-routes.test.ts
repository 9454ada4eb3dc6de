import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startNetworkServer, type NetworkServer } from '../src/network/index.js'
import { phoneControlRoutes } from '../src/phones/control-routes.js'
import { PhoneFleet } from '../src/phones/phone-fleet.js'
import type { InboxView } from '../src/phones/phone-messages.js'
import { waitFor } from './phones-helpers.js'

const TOKEN = 'test-control-token'

describe('phone control routes', () => {
  let dir: string
  let server: NetworkServer
  let fleet: PhoneFleet

  // mounted on the network's own app, as `wabox start` does, so its bearer check applies
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wabox-control-'))
    server = await startNetworkServer({
      dataDir: join(dir, 'network'),
      port: 0,
      profile: 'dev',
      controlToken: TOKEN,
      logger: pino({ level: 'silent' }),
      register: async (app) => {
        await app.register(phoneControlRoutes, { fleet: () => fleet })
      },
    })
    fleet = await PhoneFleet.open({ dataDir: dir, networkUrl: server.wsUrl, codeSource: (cc, phone) => server.lastCode(cc, phone), fsync: false })
  })

  afterEach(async () => {
    await fleet.close()
    await server.close()
    await rm(dir, { recursive: true, force: true })
  })

  const call = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) => {
    const res = await server.app.inject({ method, url, payload, headers: { authorization: `Bearer ${TOKEN}` } })
    return { status: res.statusCode, body: res.json() as Record<string, unknown> & { error?: { code: string } } }
  }

  it('creates, lists, sends every type, reads and scripts', async () => {
    expect((await server.app.inject({ url: '/control/phones' })).statusCode).toBe(401)
    const created = await call('POST', '/control/phones', { count: 2 })
    expect(created.status).toBe(201)
    expect((created.body.phones as { waId: string }[]).map((p) => p.waId)).toEqual(['15550000001', '15550000002'])
    const [a, b] = ['15550000001', '15550000002']
    await call('PUT', `/control/phones/${b}/script`, { mode: 'none' })
    await fleet.get(b)!.setBehaviour({ autoReadDelayMs: null })

    const bodies = [
      { type: 'text', text: 'hi' },
      { type: 'document', data: randomBytes(100).toString('base64'), mimeType: 'application/pdf', filename: 'a.pdf' },
      { type: 'location', latitude: 1, longitude: 2 },
      { type: 'contacts', contacts: [{ name: { formatted_name: 'Ann' } }] },
      { type: 'button', text: 'Yes', payload: 'YES' },
      { type: 'button_reply', id: 'b1', title: 'One' },
      { type: 'list_reply', id: 'r1', title: 'Row' },
      { type: 'reaction', messageId: 'wamid.x', emoji: '👍' },
    ]
    const bob = fleet.get(b)!
    const deliveredIds = new Set<string>()
    const allDelivered = waitFor<{ kind: string; envelopeIds: string[] }>(fleet.get(a)!, 'receipt', (r) => {
      if (r.kind === 'delivered') r.envelopeIds.forEach((id) => deliveredIds.add(id))
      return deliveredIds.size === bodies.length
    })
    for (const body of bodies) {
      const arrived = waitFor<InboxView>(bob, 'message')
      const sent = await call('POST', `/control/phones/${a}/send`, { to: b, ...body })
      expect(sent.status, JSON.stringify(sent.body)).toBe(201)
      expect((await arrived).id).toBe((sent.body.message as { id: string }).id)
    }

    await allDelivered
    const outbox = await call('GET', `/control/phones/${a}/outbox`)
    expect((outbox.body.messages as { status: string }[]).map((m) => m.status)).toEqual(bodies.map(() => 'delivered'))

    const inbox = await call('GET', `/control/phones/${b}/inbox?unread=true`)
    const messages = inbox.body.messages as InboxView[]
    expect(messages.map((m) => (m.content as { type: string }).type)).toEqual(['text', 'document', 'location', 'contacts', 'button', 'interactive', 'interactive', 'reaction'])
    expect(messages[1]?.mediaFile).toBeDefined()

    expect((await call('POST', `/control/phones/${b}/read`, { ids: [messages[0]!.id] })).body.read).toEqual([messages[0]!.id])
    expect(((await call('POST', `/control/phones/${b}/read`, {})).body.read as string[]).length).toBe(7)
    expect((await call('GET', `/control/phones/${b}`)).body.inbox).toEqual({ total: 8, unread: 0 })

    await call('PUT', `/control/phones/${b}/script`, { mode: 'fixed', text: 'Thanks!' })
    const answer = waitFor<InboxView>(fleet.get(a)!, 'message')
    await call('POST', `/control/phones/${a}/send`, { to: b, type: 'text', text: 'hello?' })
    expect((await answer).content).toMatchObject({ type: 'text', text: { body: 'Thanks!' } })
  })

  it('takes phones offline and back, queueing their messages', async () => {
    await call('POST', '/control/phones', { count: 2 })
    const [a, b] = ['15550000001', '15550000002']
    expect((await call('POST', `/control/phones/${b}/offline`)).body).toEqual({ online: false })
    expect((await call('POST', `/control/phones/${b}/send`, { to: a, type: 'text', text: 'x' })).body.error?.code).toBe('offline')
    expect((await call('POST', `/control/phones/${a}/send`, { to: b, type: 'text', text: 'queued' })).status).toBe(201)
    const arrived = waitFor<InboxView>(fleet.get(b)!, 'message')
    expect((await call('POST', `/control/phones/${b}/online`)).body).toEqual({ online: true })
    expect((await arrived).content).toMatchObject({ text: { body: 'queued' } })
  })

  it('answers errors in one shape', async () => {
    await call('POST', '/control/phones', { count: 1 })
    const a = '15550000001'
    expect(await call('GET', '/control/phones/19999999999/inbox')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } })
    expect(await call('POST', `/control/phones/${a}/send`, { to: '1', type: 'fax' })).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } })
    expect(await call('PUT', `/control/phones/${a}/script`, { mode: 'fixed' })).toMatchObject({ status: 400 })
    expect(await call('PUT', `/control/phones/${a}/script`, { mode: 'loud' })).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } })
    expect(await call('POST', `/control/phones/${a}/block`, {})).toMatchObject({ status: 400 })
    expect(await call('POST', `/control/phones/${a}/send`, { to: '15559999999', type: 'text', text: 'x' })).toMatchObject({
      status: 404,
      body: { error: { code: 'not_registered' } },
    })
    // feedback goes to business numbers only
    expect(await call('POST', `/control/phones/${a}/report`, { business: '15559999999' })).toMatchObject({ status: 404 })
  })
})
