import fs from 'node:fs'
import path from 'node:path'
import { generate } from 'selfsigned'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TlsMaterial } from '../src/webapp/context.js'
import { WebhookMetrics } from '../src/webhooks/metrics.js'
import { describeEachDatabase } from './helpers/databases.js'
import { basic, call, createWebTest, firstError, type WebTest } from './helpers/webapp.js'

async function bundle(): Promise<{ pem: string; cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: 'api.example.test' }], { keyType: 'ec', algorithm: 'sha256' })
  return { pem: `${pems.private}\n${pems.cert}\n`, cert: pems.cert, key: pems.private }
}

describeEachDatabase('webapp monitoring, certificates and envelope', (ctx) => {
  let t: WebTest
  const swapped: TlsMaterial[] = []
  beforeAll(async () => {
    t = await createWebTest(ctx(), {
      onCertificateChange: (m) => swapped.push(m),
      statsProvider: async (id) => ({
        callback_queue_size: { type: 'gauge', help: 'queue', data: [{ value: id === t.a.id ? 7 : 0 }] },
        callback_requests: { type: 'counter', help: 'requests', data: [{ labels: { result: 'success', type: 'status_change' }, value: 12 }] },
      }),
    })
  })
  afterAll(async () => t.close())
  const admin = () => ({ bearer: t.admin })

  describe('health, metrics, stats, support', () => {
    it('health reports the gateway status of the caller\'s number', async () => {
      expect((await call(t.app, admin(), { method: 'GET', url: '/v1/health' })).json()).toMatchObject({ health: { gateway_status: 'connected' }, meta: { api_status: 'stable' } })
      await t.store.numbers.setGatewayStatus(t.b.id, 'disconnected')
      expect((await call(t.app, { d360: t.keyB }, { method: 'GET', url: '/v1/health' })).json().health).toEqual({ gateway_status: 'disconnected' })
      await t.store.numbers.setGatewayStatus(t.b.id, 'connected')
    })

    it('/metrics: On-Prem JSON by default, Prometheus text on request', async () => {
      await call(t.app, admin(), { method: 'GET', url: '/v1/health' })
      const json = await call(t.app, admin(), { method: 'GET', url: '/metrics' })
      expect(json.statusCode).toBe(200)
      const metrics = json.json().metrics
      expect(metrics.web_uptime).toMatchObject({ type: 'gauge', help: expect.any(String), data: [{ labels: { node: expect.any(String) }, value: expect.any(Number) }] })
      const health = metrics.api_requests.data.find((d: { labels: Record<string, string> }) => d.labels.method === 'GET_v1_health' && d.labels.result === '200')
      expect(health.value).toBeGreaterThanOrEqual(1)
      const prom = await call(t.app, admin(), { method: 'GET', url: '/metrics?format=prometheus' })
      expect(prom.headers['content-type']).toContain('text/plain')
      expect(prom.body).toContain('# TYPE web_uptime gauge')
      expect(prom.body).toMatch(/api_requests\{node="[^"]+",method="GET_v1_health",result="200"\} \d+/)
      const bad = await call(t.app, admin(), { method: 'GET', url: '/metrics?format=xml' })
      expect(firstError(bad).details).toBe('Invalid value for query parameter \'format\': must be one of "json", "prometheus"')
    })

    it('/v1/stats/app comes from the stats provider; /v1/stats/db counts rows of the number', async () => {
      const app = await call(t.app, admin(), { method: 'GET', url: '/v1/stats/app' })
      expect(app.json().stats.app.callback_queue_size).toEqual({ type: 'gauge', help: 'queue', data: [{ value: 7 }] })
      const text = await call(t.app, admin(), { method: 'GET', url: '/v1/stats/app?format=prometheus' })
      expect(text.body).toContain('callback_requests{result="success",type="status_change"} 12')

      await call(t.app, { d360: t.keyB }, { method: 'POST', url: '/v1/messages', payload: { to: '16315551234', text: { body: 'x' } } })
      await t.store.callbacks.enqueue(t.b.id, { type: 'error', errors: [{ code: 500, title: 'Generic error' }] })
      const keyB = await t.store.apiKeys.create(t.b.id, 'monitoring', 'm')
      const db = (await call(t.app, { apikey: keyB }, { method: 'GET', url: '/v1/stats/db' })).json().stats.db
      expect(db.db_pending_messages.data).toEqual([{ value: 1 }])
      expect(db.db_pending_callbacks.data).toEqual([{ value: 1 }])
      expect(db.db_messages.data).toEqual([{ labels: { direction: 'out', status: 'queued' }, value: 1 }])
      expect(db.db_contacts.data).toHaveLength(2)
    })

    it('/metrics and stats with one number\'s monitoring key show that number only; the deployment admin sees all', async () => {
      new WebhookMetrics(t.registry, t.store)
      await t.store.callbacks.enqueue(t.a.id, { type: 'error', errors: [{ code: 500, title: 'Generic error' }] })
      await t.store.callbacks.enqueue(t.b.id, { type: 'error', errors: [{ code: 500, title: 'Generic error' }] })
      const monA = { apikey: await t.store.apiKeys.create(t.a.id, 'monitoring', 'prom-a') }
      const numbersIn = (res: { json(): { metrics: Record<string, { data: { labels?: Record<string, string> }[] }> } }) =>
        new Set(Object.values(res.json().metrics).flatMap((m) => m.data.map((d) => d.labels?.phone_number_id).filter(Boolean)))

      expect(numbersIn(await call(t.app, admin(), { method: 'GET', url: '/metrics' }))).toEqual(new Set([t.a.id, t.b.id]))
      const own = await call(t.app, monA, { method: 'GET', url: '/metrics' })
      expect(numbersIn(own)).toEqual(new Set([t.a.id]))
      expect(own.json().metrics.web_uptime.data).toHaveLength(1)
      const text = await call(t.app, monA, { method: 'GET', url: '/metrics?format=prometheus' })
      expect(text.body).toContain(`wabox_callback_queue_depth{phone_number_id="${t.a.id}"}`)
      expect(text.body).not.toContain(t.b.id)
      expect(text.body).toContain('# TYPE web_uptime gauge')
      // a user bound to B sees B, not A
      await t.store.users.create({ username: 'b-watch', password: 'B-w4tch!x', phoneNumberId: t.b.id })
      const login = await t.app.inject({ method: 'POST', url: '/v1/users/login', headers: { authorization: basic('b-watch', 'B-w4tch!x') } })
      expect(numbersIn(await call(t.app, { bearer: login.json().users[0].token }, { method: 'GET', url: '/metrics' }))).toEqual(new Set([t.b.id]))
      // stats are the caller's number's
      expect((await call(t.app, monA, { method: 'GET', url: '/v1/stats/app' })).json().stats.app.callback_queue_size.data).toEqual([{ value: 7 }])
      const monB = { apikey: await t.store.apiKeys.create(t.b.id, 'monitoring', 'prom-b') }
      expect((await call(t.app, monB, { method: 'GET', url: '/v1/stats/app' })).json().stats.app.callback_queue_size.data).toEqual([{ value: 0 }])
    })

    it('/v1/support describes the deployment', async () => {
      const s = (await call(t.app, admin(), { method: 'GET', url: '/v1/support' })).json().support
      expect(s).toMatchObject({ debug_info: t.a.wa_id, db_engine: expect.stringMatching(/^(SQLITE|PGSQL|MYSQL)$/), socket_conn: 'UP', multi_connect: false })
    })
  })

  describe('certificates', () => {
    it('replaces the Webapp certificate and serves its CA', async () => {
      const b = await bundle()
      const res = await call(t.app, admin(), { method: 'POST', url: '/v1/certificates/external', headers: { 'content-type': 'text/plain' }, payload: b.pem })
      expect(res.statusCode, res.body).toBe(200)
      expect(swapped.at(-1)?.cert.trim()).toBe(b.cert.trim())
      const tlsDir = path.join(t.db.dir, fs.readdirSync(t.db.dir).find((d) => d.startsWith('data-'))!, 'tls')
      expect(fs.readFileSync(path.join(tlsDir, 'key.pem'), 'utf8').trim()).toBe(b.key.trim())
      expect(fs.statSync(path.join(tlsDir, 'key.pem')).mode & 0o777).toBe(0o600)
      const ca = await call(t.app, admin(), { method: 'GET', url: '/v1/certificates/external/ca' })
      expect(ca.body.trim()).toBe(b.cert.trim())

      const other = await bundle()
      const mismatch = await call(t.app, admin(), { method: 'POST', url: '/v1/certificates/external', headers: { 'content-type': 'text/plain' }, payload: `${b.key}\n${other.cert}` })
      expect(firstError(mismatch)).toMatchObject({ code: 1009 })
      expect(firstError(mismatch).details).toContain('private key does not belong')
      const noKey = await call(t.app, admin(), { method: 'POST', url: '/v1/certificates/external', headers: { 'content-type': 'text/plain' }, payload: b.cert })
      expect(firstError(noKey)).toMatchObject({ code: 1008 })
    })

    it('stores a webhook CA per number; 404 without a body when there is none', async () => {
      const url = '/v1/certificates/webhooks/ca'
      const none = await call(t.app, admin(), { method: 'GET', url })
      expect(none.statusCode).toBe(404)
      expect(none.body).toBe('')
      const b = await bundle()
      expect((await call(t.app, admin(), { method: 'POST', url, headers: { 'content-type': 'text/plain' }, payload: b.cert })).statusCode).toBe(200)
      expect((await call(t.app, admin(), { method: 'GET', url })).body.trim()).toBe(b.cert.trim())
      expect(await t.store.callbacks.webhookCa(t.a.id)).toContain('BEGIN CERTIFICATE')
      expect(await t.store.callbacks.webhookCa(t.b.id)).toBeNull()
      const junk = await call(t.app, admin(), { method: 'POST', url, headers: { 'content-type': 'text/plain' }, payload: 'hello' })
      expect(firstError(junk)).toMatchObject({ code: 1009 })
      expect((await call(t.app, admin(), { method: 'DELETE', url })).statusCode).toBe(200)
      expect((await call(t.app, admin(), { method: 'GET', url })).statusCode).toBe(404)
    })
  })

  describe('envelope and docs', () => {
    it('unknown endpoints are 404 / 1006 in the On-Prem envelope', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/v1/nothing-here' })
      expect(res.statusCode).toBe(404)
      expect(res.json()).toEqual({
        meta: { api_status: 'stable', version: expect.any(String) },
        errors: [{ code: 1006, title: 'Resource not found', details: 'Unknown endpoint GET /v1/nothing-here' }],
      })
    })

    it('non-JSON bodies on JSON endpoints are 415 / 1009', async () => {
      const res = await call(t.app, admin(), { method: 'POST', url: '/v1/contacts', headers: { 'content-type': 'text/csv' }, payload: 'a,b' })
      expect(res.statusCode).toBe(415)
      expect(firstError(res)).toMatchObject({ code: 1009 })
    })

    it('/docs serves the OpenAPI description without credentials', async () => {
      const ui = await t.app.inject({ method: 'GET', url: '/docs' })
      expect([200, 302]).toContain(ui.statusCode)
      const spec = await t.app.inject({ method: 'GET', url: '/docs/json' })
      expect(spec.statusCode).toBe(200)
      const doc = spec.json()
      expect(doc.openapi).toMatch(/^3\./)
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/messages', '/v1/users/login', '/v1/media/{id}', '/v1/settings/application', '/metrics']))
      expect(doc.paths['/v1/users']['post'].requestBody.content['application/json'].schema.required).toEqual(['username', 'password'])
    })
  })
})
