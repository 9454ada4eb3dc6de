import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StatusEvent } from '../src/domain/events.js'
import type { AttemptOutcome } from '../src/store/callbacks.js'
import { signatureHeader, verifySignature, WebhookDispatcher } from '../src/webhooks/index.js'
import { describeEachDatabase } from './helpers/databases.js'
import { addNumber, apiKey, call, createWebTest, firstError, type Auth, type WebTest } from './helpers/webapp.js'
import { Receiver } from './webhooks-harness.js'

function statusEvent(id: string): StatusEvent {
  return { type: 'status', status: { id, recipient_id: '16315551234', status: 'delivered', timestamp: '1767225600' } }
}

interface Item {
  seq: number
  type: string
  status: string
  attempts: number
  next_attempt_at: string | null
  in_flight: boolean
  last_error: string | null
  created_at: string
  dead_at: string | null
}

describeEachDatabase('webapp callbacks', (ctx) => {
  let t: WebTest
  let numberSeq = 0
  beforeAll(async () => {
    t = await createWebTest(ctx())
  })
  afterAll(async () => t.close())

  /** A number of its own (so tests do not share queues) and its D360-API-KEY. */
  async function freshNumber(): Promise<{ id: string; key: Auth }> {
    numberSeq++
    const id = `cb${numberSeq}-${Math.random().toString(36).slice(2, 8)}`
    await addNumber(t.store, id, '49', `1510${String(numberSeq).padStart(3, '0')}${Math.floor(Math.random() * 1e5)}`)
    return { id, key: { d360: await apiKey(t.store, id, 'd360') } }
  }

  /** Enqueues one status callback per id; returns their seqs in order. */
  async function enqueue(phoneNumberId: string, ids: string[]): Promise<number[]> {
    await t.store.callbacks.enqueueMany(phoneNumberId, ids.map(statusEvent))
    const page = await t.store.callbacks.list(phoneNumberId, 'pending', { limit: 500 })
    return page.items.slice(-ids.length).map((i) => i.seq)
  }

  /** One delivery pass over the number's due callbacks: the given outcome per seq (others are released). */
  async function attempt(phoneNumberId: string, outcomes: Record<number, AttemptOutcome['next']['kind']>): Promise<void> {
    const now = t.db.clock.now()
    const claimed = await t.store.callbacks.claim(phoneNumberId, 500, 60_000, 'test')
    const recorded: AttemptOutcome[] = claimed.filter((c) => outcomes[c.seq]).map((c) => {
      const kind = outcomes[c.seq]
      const next: AttemptOutcome['next'] = kind === 'retry' ? { kind, at: now + 60_000 } : { kind: kind === 'dead' ? 'dead' : 'done' }
      return { seq: c.seq, phoneNumberId, at: now, httpStatus: kind === 'done' ? 200 : 500, latencyMs: 12, error: kind === 'done' ? null : 'HTTP 500: boom', next }
    })
    await t.store.callbacks.record(recorded, 'test')
    await t.store.callbacks.release(claimed.filter((c) => !outcomes[c.seq]).map((c) => c.seq), 'test')
  }

  async function list(auth: Auth, query: string): Promise<{ callbacks: Item[]; paging: { next: number | null } }> {
    const res = await call(t.app, auth, { method: 'GET', url: `/v1/callbacks${query}` })
    expect(res.statusCode, res.body).toBe(200)
    return res.json()
  }

  describe('listing', () => {
    it('lists pending, failed and dead callbacks oldest first, in pages, without their bodies', async () => {
      const { id, key } = await freshNumber()
      const [s1, s2, s3, s4, s5] = await enqueue(id, ['wamid.L1', 'wamid.L2', 'wamid.L3', 'wamid.L4', 'wamid.L5']) as [number, number, number, number, number]
      await attempt(id, { [s2]: 'retry', [s4]: 'dead', [s5]: 'done' })
      const retryAt = new Date(t.db.clock.now() + 60_000).toISOString()

      const pending = await list(key, '')
      expect(pending.callbacks.map((c) => c.seq)).toEqual([s1, s2, s3])
      expect(pending.paging.next).toBeNull()
      expect((await list(key, '?status=failed')).callbacks.map((c) => c.seq)).toEqual([s2])
      const dead = await list(key, '?status=dead')
      expect(dead.callbacks).toEqual([{
        seq: s4, type: 'status', status: 'dead', attempts: 1, next_attempt_at: null, in_flight: false,
        last_error: 'HTTP 500: boom', created_at: new Date(t.db.clock.now()).toISOString(), dead_at: new Date(t.db.clock.now()).toISOString(),
      }])
      const failed = pending.callbacks[1]
      expect(failed).toMatchObject({ status: 'pending', attempts: 1, last_error: 'HTTP 500: boom', next_attempt_at: retryAt })

      const first = await list(key, '?status=pending&limit=2')
      expect(first.callbacks.map((c) => c.seq)).toEqual([s1, s2])
      expect(first.paging.next).toBe(s2)
      const second = await list(key, `?status=pending&limit=2&after=${first.paging.next}`)
      expect(second.callbacks.map((c) => c.seq)).toEqual([s3])
      expect(second.paging.next).toBeNull()

      // the list never carries the payload (sealed at rest)
      const raw = await call(t.app, key, { method: 'GET', url: '/v1/callbacks?status=pending' })
      expect(raw.body).not.toContain('wamid.L1')
      expect(Object.keys(pending.callbacks[0] ?? {})).not.toContain('payload')
    })

    it('shows a callback as in flight while a dispatcher holds its lease, and not after the lease ran out', async () => {
      const { id, key } = await freshNumber()
      const [seq] = await enqueue(id, ['wamid.FLIGHT']) as [number]
      await t.store.callbacks.claim(id, 10, 60_000, 'crashed-dispatcher')
      expect((await list(key, '')).callbacks).toEqual([expect.objectContaining({ seq, in_flight: true })])
      t.db.clock.tick(60_001)
      expect((await list(key, '')).callbacks).toEqual([expect.objectContaining({ seq, in_flight: false })])
    })

    it('rejects a bad status filter or page size naming the parameter', async () => {
      const { key } = await freshNumber()
      for (const [query, field] of [['?status=stuck', 'status'], ['?limit=0', 'limit'], ['?limit=501', 'limit'], ['?after=x', 'after']]) {
        const res = await call(t.app, key, { method: 'GET', url: `/v1/callbacks${query}` })
        expect(res.statusCode, query).toBe(400)
        expect(firstError(res).code, query).toBe(1009)
        expect(firstError(res).details, query).toContain(`'${field}'`)
      }
      expect(firstError(await call(t.app, key, { method: 'GET', url: '/v1/callbacks?status=stuck' })).details).toContain('pending')
    })
  })

  describe('one callback', () => {
    it('shows the body as it would be POSTed in the number\'s format, and the attempt log', async () => {
      const { id, key } = await freshNumber()
      const [seq] = await enqueue(id, ['wamid.ONE']) as [number]
      await attempt(id, { [seq]: 'retry' })
      t.db.clock.tick(60_000)
      await attempt(id, { [seq]: 'retry' })

      const res = await call(t.app, key, { method: 'GET', url: `/v1/callbacks/${seq}` })
      expect(res.statusCode, res.body).toBe(200)
      const [detail] = res.json().callbacks
      expect(detail).toMatchObject({ seq, type: 'status', status: 'pending', attempts: 2, format: 'onprem' })
      expect(detail.payload).toEqual({ statuses: [{ id: 'wamid.ONE', recipient_id: '16315551234', status: 'delivered', timestamp: '1767225600' }] })
      expect(detail.attempt_log).toHaveLength(2)
      expect(detail.attempt_log[0]).toEqual({ at: new Date(t.db.clock.now() - 60_000).toISOString(), http_status: 500, latency_ms: 12, error: 'HTTP 500: boom' })

      await t.store.numbers.saveSettings(id, { webhooks: { ...t.store.numbers.settings((await t.store.numbers.get(id))!).webhooks, format: 'cloud' } })
      t.db.clock.tick(1000)
      const cloud = (await call(t.app, key, { method: 'GET', url: `/v1/callbacks/${seq}` })).json().callbacks[0]
      expect(cloud.format).toBe('cloud')
      expect(cloud.payload.object).toBe('whatsapp_business_account')
      expect(cloud.payload.entry[0].changes[0].value.statuses[0].id).toBe('wamid.ONE')
    })

    it('shows a Cloud-hosted number\'s callback in Cloud format with its WABA id, whatever its format setting', async () => {
      const { id, key } = await freshNumber()
      const [seq] = await enqueue(id, ['wamid.CLOUD']) as [number]
      const waba = await t.store.wabas.create({ name: 'Cloud business' })
      await t.store.numbers.setHosting(id, { wabaId: waba.id, platformType: 'CLOUD_API' })
      t.db.clock.tick(1000)
      const [detail] = (await call(t.app, key, { method: 'GET', url: `/v1/callbacks/${seq}` })).json().callbacks
      expect(detail.format).toBe('cloud')
      expect(detail.payload.entry[0].id).toBe(waba.id)
      expect(detail.payload.entry[0].changes[0].value.statuses[0].id).toBe('wamid.CLOUD')
    })

    it('answers 404 / 1006 for an unknown seq and 1009 for a malformed one', async () => {
      const { key } = await freshNumber()
      const unknown = await call(t.app, key, { method: 'GET', url: '/v1/callbacks/999999999' })
      expect(unknown.statusCode).toBe(404)
      expect(firstError(unknown).code).toBe(1006)
      const bad = await call(t.app, key, { method: 'GET', url: '/v1/callbacks/abc' })
      expect(bad.statusCode).toBe(400)
      expect(firstError(bad)).toMatchObject({ code: 1009 })
      expect(firstError(bad).details).toContain("'seq'")
    })
  })

  describe('replay', () => {
    it('a replayed dead letter is pending and due at once, with its attempts reset', async () => {
      const { id, key } = await freshNumber()
      const [dead, live] = await enqueue(id, ['wamid.R1', 'wamid.R2']) as [number, number]
      await attempt(id, { [dead]: 'dead', [live]: 'retry' })
      t.db.clock.tick(5000)

      const res = await call(t.app, key, { method: 'POST', url: `/v1/callbacks/${dead}/replay` })
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json().callbacks).toEqual([expect.objectContaining({
        seq: dead, status: 'pending', attempts: 0, dead_at: null, next_attempt_at: new Date(t.db.clock.now()).toISOString(),
      })])
      expect((await list(key, '?status=dead')).callbacks).toEqual([])
      // due now: a dispatcher claims it (the other one waits for its retry time)
      const claimed = await t.store.callbacks.claim(id, 10, 60_000, 'replay-test')
      expect(claimed.map((c) => c.seq)).toEqual([dead])
      await t.store.callbacks.release([dead], 'replay-test')

      const notDead = await call(t.app, key, { method: 'POST', url: `/v1/callbacks/${live}/replay` })
      expect(notDead.statusCode).toBe(400)
      expect(firstError(notDead).code).toBe(1009)
      expect(firstError(notDead).details).toContain('pending')
      const unknown = await call(t.app, key, { method: 'POST', url: '/v1/callbacks/999999999/replay' })
      expect(unknown.statusCode).toBe(404)
      expect(firstError(unknown).code).toBe(1006)
    })

    it('replay-all moves every dead letter of the number back and answers how many', async () => {
      const { id, key } = await freshNumber()
      const seqs = await enqueue(id, ['wamid.A1', 'wamid.A2', 'wamid.A3', 'wamid.A4'])
      await attempt(id, Object.fromEntries(seqs.slice(0, 3).map((s) => [s, 'dead' as const])))
      expect((await list(key, '?status=dead')).callbacks).toHaveLength(3)

      const res = await call(t.app, key, { method: 'POST', url: '/v1/callbacks/replay' })
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json().replayed).toBe(3)
      expect((await list(key, '?status=dead')).callbacks).toEqual([])
      expect((await list(key, '')).callbacks.map((c) => c.seq)).toEqual(seqs)
      expect((await call(t.app, key, { method: 'POST', url: '/v1/callbacks/replay' })).json().replayed).toBe(0)
    })
  })

  describe('access', () => {
    it('keeps each number\'s callbacks and secret to its own credentials', async () => {
      const a = await freshNumber()
      const b = await freshNumber()
      const [seqA] = await enqueue(a.id, ['wamid.ISO-A']) as [number]
      const [seqB] = await enqueue(b.id, ['wamid.ISO-B']) as [number]
      await attempt(a.id, { [seqA]: 'dead' })
      await attempt(b.id, { [seqB]: 'dead' })

      expect((await list(a.key, '?status=dead')).callbacks.map((c) => c.seq)).toEqual([seqA])
      for (const req of [{ method: 'GET' as const, url: `/v1/callbacks/${seqB}` }, { method: 'POST' as const, url: `/v1/callbacks/${seqB}/replay` }]) {
        const res = await call(t.app, a.key, req)
        expect(res.statusCode, req.url).toBe(404)
        expect(firstError(res).code, req.url).toBe(1006)
      }
      expect((await call(t.app, a.key, { method: 'POST', url: '/v1/callbacks/replay' })).json().replayed).toBe(1)
      expect((await list(b.key, '?status=dead')).callbacks.map((c) => c.seq)).toEqual([seqB])

      const secret = async (auth: Auth) => (await call(t.app, auth, { method: 'GET', url: '/v1/configs/webhook/secret' })).json().webhook.secret as string
      expect(await secret(a.key)).not.toBe(await secret(b.key))
    })

    it('admits users and d360/admin keys of the number, not monitoring keys', async () => {
      const { id } = await freshNumber()
      const admin = { apikey: await apiKey(t.store, id, 'admin') }
      expect((await call(t.app, admin, { method: 'GET', url: '/v1/callbacks' })).statusCode).toBe(200)
      expect((await call(t.app, admin, { method: 'POST', url: '/v1/configs/webhook/secret/rotate' })).statusCode).toBe(200)
      // the admin user acts on the default number
      expect((await call(t.app, { bearer: t.admin }, { method: 'GET', url: '/v1/callbacks?status=dead' })).statusCode).toBe(200)
      const monitoring = { apikey: await apiKey(t.store, id, 'monitoring') }
      for (const req of [
        { method: 'GET' as const, url: '/v1/callbacks' },
        { method: 'POST' as const, url: '/v1/callbacks/replay' },
        { method: 'GET' as const, url: '/v1/configs/webhook/secret' },
      ]) {
        const res = await call(t.app, monitoring, req)
        expect(res.statusCode, req.url).toBe(403)
        expect(firstError(res).code, req.url).toBe(1005)
      }
      expect((await call(t.app, {}, { method: 'GET', url: '/v1/callbacks' })).statusCode).toBe(401)
    })

    it('shows the routes in the OpenAPI description', async () => {
      const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, unknown> }
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
        '/v1/callbacks', '/v1/callbacks/{seq}', '/v1/callbacks/{seq}/replay', '/v1/callbacks/replay',
        '/v1/configs/webhook/secret', '/v1/configs/webhook/secret/rotate',
      ]))
    })
  })

  describe('signing secret', () => {
    let receiver: Receiver
    let dispatcher: WebhookDispatcher
    beforeAll(async () => {
      receiver = await Receiver.start()
      dispatcher = new WebhookDispatcher({
        store: t.store, clock: t.db.clock, logger: pino({ level: 'silent' }), registry: new Registry(), allowInsecureLoopback: true,
      })
    })
    afterAll(async () => {
      await dispatcher.stop(1000)
      await receiver.close()
    })

    it('is the key of the X-Hub-Signature-256 the dispatcher sends, before and after rotation', async () => {
      const { id, key } = await freshNumber()
      expect((await call(t.app, key, { method: 'POST', url: '/v1/configs/webhook', payload: { url: receiver.url() } })).statusCode).toBe(200)
      const secretRes = await call(t.app, key, { method: 'GET', url: '/v1/configs/webhook/secret' })
      expect(secretRes.statusCode).toBe(200)
      const secret = secretRes.json().webhook.secret as string
      expect(secret).toMatch(/^[0-9a-f]{64}$/)
      expect((await call(t.app, key, { method: 'GET', url: '/v1/configs/webhook/secret' })).json().webhook.secret).toBe(secret)

      const [seq] = await enqueue(id, ['wamid.SIG1']) as [number]
      const shown = (await call(t.app, key, { method: 'GET', url: `/v1/callbacks/${seq}` })).json().callbacks[0].payload
      expect(await dispatcher.runOnce()).toBeGreaterThanOrEqual(1)
      const first = receiver.requests.find((r) => JSON.stringify(r.json).includes('wamid.SIG1'))
      expect(first).toBeDefined()
      expect(first?.headers['x-hub-signature-256']).toBe(signatureHeader(first?.raw ?? '', secret))
      // the detail view showed exactly what was sent
      expect(first?.json).toEqual(shown)

      const rotated = await call(t.app, key, { method: 'POST', url: '/v1/configs/webhook/secret/rotate' })
      expect(rotated.statusCode).toBe(200)
      const next = rotated.json().webhook.secret as string
      expect(next).not.toBe(secret)
      expect((await call(t.app, key, { method: 'GET', url: '/v1/configs/webhook/secret' })).json().webhook.secret).toBe(next)
      await enqueue(id, ['wamid.SIG2'])
      await dispatcher.runOnce()
      const second = receiver.requests.find((r) => JSON.stringify(r.json).includes('wamid.SIG2'))
      const header = second?.headers['x-hub-signature-256'] as string | undefined
      expect(verifySignature(second?.raw ?? '', header, next)).toBe(true)
      expect(verifySignature(second?.raw ?? '', header, secret)).toBe(false)
    })
  })
})
