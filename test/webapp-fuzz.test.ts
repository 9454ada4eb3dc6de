import type { AddressInfo } from 'node:net'
import path from 'node:path'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isGraphPath } from '../src/webapp/cloud/paths.js'
import { BUSINESS, startHarness, waitFor, type Harness } from './coreapp-harness.js'
import { DIALECTS } from './helpers/databases.js'
import { bodyFor, serialise, type Schema } from './helpers/fuzz-bodies.js'
import { envelopeProblem, graphEnvelopeProblem, partnerEnvelopeProblem } from './helpers/fuzz-envelope.js'
import { frame, framingRequest } from './helpers/fuzz-framing.js'
import { parseResponses, rawExchange } from './helpers/fuzz-raw-http.js'
import { pathParam, queryFor, type QueryParam } from './helpers/fuzz-urls.js'
import { basic, buildWebApp, loginAdmin, VERSION } from './helpers/webapp.js'

/**
 * Property-based fuzzing of every route of the OpenAPI document, over real HTTP, against a real
 * CoreApp, network and phone: hostile bodies, path parameters and query strings never get a 5xx
 * or an answer outside the envelope of the route's dialect (On-Prem, or Graph for the Cloud
 * paths), the API stays healthy, and the number still delivers afterwards. Seeded and bounded:
 * the same requests on every run.
 */

const SEED = 13_2026
const RUNS_PER_ROUTE = 20
const FRAMING_RUNS = 200

interface Operation {
  parameters?: { in: string; name: string; schema?: Schema }[]
  requestBody?: { content: Record<string, { schema?: Schema }> }
}

interface Route {
  method: string
  path: string
  params: string[]
  query: QueryParam[]
  body?: Schema
}

function routesOf(doc: { paths: Record<string, Record<string, Operation>> }): Route[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({
    method: method.toUpperCase(),
    path,
    params: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
    query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema ?? {} })),
    body: op.requestBody?.content['application/json']?.schema,
  })))
}

/** On-Prem answers an unknown media id and a missing CA with a bare 404 (onprem-api.md §4, §8). */
// 360dialog's waba-v2 routes under /v1: its dialect answers Meta's envelope there
const D360_UNDER_V1 = new Set(['GET /v1/configs/templates', 'POST /v1/configs/templates', 'DELETE /v1/configs/templates/{name}'])
const BARE_404 = new Set(['GET /v1/media/{id}', 'GET /v1/certificates/external/ca', 'GET /v1/certificates/webhooks/ca'])
/** Successful answers that are files or Prometheus text rather than JSON. */
const RAW_SUCCESS = new Set([
  'GET /metrics', 'GET /v1/stats/app', 'GET /v1/stats/db', 'GET /v1/media/{id}', 'GET /v1/certificates/external/ca',
  'GET /v1/certificates/webhooks/ca', 'GET /v1/settings/profile/photo',
])

/**
 * `path` is what the server saw (the client resolves `..`): a Partner API path answers its
 * `{error: {code, message}}`, a Graph path the Graph envelope, the rest On-Prem's. A 431 has
 * no readable request line, so the first dialect, On-Prem, answers it wherever it was sent.
 */
function problemWith(route: Route, path: string, status: number, contentType: string | undefined, body: string): string | undefined {
  if (status >= 500) return 'a server error'
  const key = `${route.method} ${route.path}`
  if (status === 404 && body === '' && BARE_404.has(key)) return undefined
  if (status < 400 && !contentType?.startsWith('application/json') && RAW_SUCCESS.has(key)) return undefined
  if (path.startsWith('/partner/') && status !== 431) return partnerEnvelopeProblem(status, contentType, body)
  const graph = (isGraphPath(path) || (D360_UNDER_V1.has(key) && path.startsWith('/v1/configs/templates'))) && status !== 431
  return graph ? graphEnvelopeProblem(status, contentType, body) : envelopeProblem(status, contentType, body, VERSION)
}

/** Routes of the Cloud dialect, which take its access token. */
function isCloud(route: Route): boolean {
  return isGraphPath(route.path)
}

type Auth = 'bearer' | 'd360' | 'graph' | 'none' | 'wrong-basic'

interface FuzzRequest {
  url: string
  auth: Auth
  contentType?: string
  body?: unknown
}

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH'])

function requestsFor(route: Route): fc.Arbitrary<FuzzRequest> {
  const params = fc.tuple(...route.params.map(() => pathParam))
  const url = fc.tuple(params, queryFor(route.query)).map(([values, query]) =>
    route.params.reduce((p, name, i) => p.replace(`{${name}}`, values[i]!), route.path) + query)
  // login checks its Basic credentials itself: a wrong password never changes the admin's
  const auth: fc.Arbitrary<Auth> = route.path === '/v1/users/login' ? fc.constant('wrong-basic')
    : isCloud(route) ? fc.constantFrom('graph', 'graph', 'graph', 'bearer', 'none') : fc.constantFrom('bearer', 'bearer', 'bearer', 'd360', 'none')
  if (!WITH_BODY.has(route.method)) return fc.record({ url, auth })
  const contentType = route.body
    ? fc.constantFrom('application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/xml', undefined)
    : fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'image/png', 'application/pdf', undefined)
  return fc.record({ url, auth, contentType, body: bodyFor(route.body) }, { requiredKeys: ['url', 'auth', 'body'] })
}

for (const dialect of DIALECTS) {
  describe(`fuzzing every route of the OpenAPI document [${dialect}]`, () => {
    let h: Harness
    let app: FastifyInstance
    let origin: string
    let dispatcher: Agent
    let routes: Route[]
    let key: string
    let graphToken: string
    beforeAll(async () => {
      h = await startHarness(dialect, { phones: 1 })
      // the customer writes first, so the business may answer with a free-form text
      await h.phones[0]!.send({ to: BUSINESS.waId, type: 'text', text: 'hello' })
      await waitFor(async () => (await h.callbacks()).some((e) => e.type === 'message'), 'the inbound message')
      // the harness's number is the only one, so the admin's requests act on it too
      app = await buildWebApp({
        store: h.store, clock: h.db.clock, bridge: h.app.bridge, media: h.media, version: VERSION, registry: new Registry(),
        dataDir: path.join(h.dir, 'webapp'), limits: { messagesBurst: 100_000, otherBurst: 100_000 }, allowInsecureWebhooks: true,
      })
      key = await h.store.apiKeys.create(BUSINESS.id, 'd360', 'fuzz')
      // the number in a WABA whose token the Cloud routes get (it stays On-Premises: /v1/messages must deliver)
      const waba = await h.store.wabas.create({ name: 'Fuzz' })
      await h.store.numbers.setHosting(BUSINESS.id, { wabaId: waba.id })
      graphToken = await h.store.accessTokens.create(waba.id, ['whatsapp_business_messaging', 'whatsapp_business_management'], 'fuzz')
      await app.listen({ host: '127.0.0.1', port: 0 })
      origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
      dispatcher = new Agent({ connections: 4 })
      routes = routesOf(app.swagger() as { paths: Record<string, Record<string, Operation>> })
    }, 60_000)
    afterAll(async () => {
      await dispatcher?.close()
      await app?.close()
      await h?.cleanup()
    })

    async function send(method: string, req: FuzzRequest, bearer: string) {
      const headers: Record<string, string> = {}
      if (req.auth === 'bearer') headers.authorization = `Bearer ${bearer}`
      if (req.auth === 'd360') headers['d360-api-key'] = key
      if (req.auth === 'graph') headers.authorization = `Bearer ${graphToken}`
      if (req.auth === 'wrong-basic') headers.authorization = basic('admin', 'not-the-password')
      if (req.contentType) headers['content-type'] = req.contentType
      const url = new URL(`${origin}${req.url}`)
      const res = await request(url, { method: method as 'GET', headers, dispatcher, body: req.body === undefined ? undefined : serialise(req.body) })
      const body = Buffer.from(await res.body.arrayBuffer()).toString('utf8')
      return { path: url.pathname, status: res.statusCode, contentType: res.headers['content-type'] as string | undefined, body }
    }

    it('answers every hostile request with the envelope and never a 5xx; the API stays healthy', async () => {
      expect(routes.length).toBeGreaterThan(40)
      const failures: string[] = []
      let bearer = await loginAdmin(app)
      for (const [i, route] of routes.entries()) {
        const details = await fc.check(fc.asyncProperty(requestsFor(route), async (req) => {
          const res = await send(route.method, req, bearer)
          const problem = problemWith(route, res.path, res.status, res.contentType, res.body)
          if (problem) throw new Error(`${res.status} ${problem}: ${res.body.slice(0, 300)}`)
        }), { seed: SEED + i, numRuns: RUNS_PER_ROUTE, endOnFailure: true })
        if (details.failed) failures.push(`${route.method} ${route.path}: ${String(details.errorInstance)}\n${fc.defaultReportMessage(details)?.slice(0, 1500)}`)
        let health = await send('GET', { url: '/v1/health', auth: 'bearer' }, bearer)
        // the fuzzed logout revokes the token it was called with
        if (health.status === 401) health = await send('GET', { url: '/v1/health', auth: 'bearer' }, (bearer = await loginAdmin(app)))
        if (health.status !== 200) failures.push(`after ${route.method} ${route.path}: /v1/health answered ${health.status} ${health.body}`)
      }
      expect(failures).toEqual([])
    }, 240_000)

    it('answers hostile HTTP framing with the envelope and never a 5xx; the API stays healthy', async () => {
      const port = (app.server.address() as AddressInfo).port
      await fc.assert(fc.asyncProperty(framingRequest, async (req) => {
        const responses = parseResponses(await rawExchange(port, frame(req, key)))
        if (responses.length === 0) throw new Error('the connection closed without an answer')
        for (const res of responses) {
          if (res.status >= 500) throw new Error(`${res.status}: ${res.body.slice(0, 300)}`)
          // a HEAD answer has its headers only
          const problem = req.method === 'HEAD' ? undefined : envelopeProblem(res.status, res.headers['content-type'], res.body, VERSION)
          if (problem) throw new Error(`${res.status} ${problem}`)
        }
      }), { seed: SEED, numRuns: FRAMING_RUNS, endOnFailure: true })
      const health = await send('GET', { url: '/v1/health', auth: 'd360' }, '')
      expect(health.status, health.body).toBe(200)
    }, 60_000)

    it('still delivers a text message to the phone afterwards', async () => {
      const res = await send('POST', {
        url: '/v1/messages', auth: 'd360', contentType: 'application/json',
        body: { to: h.phones[0]!.waId, type: 'text', text: { body: 'still delivering' } },
      }, '')
      expect(res.status, res.body).toBe(201)
      const id = (JSON.parse(res.body) as { messages: [{ id: string }] }).messages[0].id
      const status = await waitFor(async () => {
        const row = await h.store.messages.get(id)
        return row && ['delivered', 'read', 'failed'].includes(row.status) ? row.status : undefined
      }, 'the message to reach the phone', 30_000)
      // the phone reads what it receives at once
      expect(['delivered', 'read']).toContain(status)
    }, 60_000)
  })
}
