import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CloudCode, WaboxError } from '../src/errors/index.js'
import type { Dialect } from '../src/webapp/dialects.js'
import { dialectErrorHandler } from '../src/webapp/errors.js'
import { onPremDialect } from '../src/webapp/onprem/plugin.js'
import { sendMessage } from '../src/webapp/services/send-message.js'
import { describeEachDatabase } from './helpers/databases.js'
import { parseResponses, rawExchange, rawRequest } from './helpers/fuzz-raw-http.js'
import { call, createWebTest, firstError, type WebTest } from './helpers/webapp.js'

const TOKEN = 'test-token'

/**
 * A second dialect as the Cloud one is built: its own paths under /t/, a Bearer check in its own
 * hook, a Graph-like envelope, and the shared send service with its own rules (no namespace).
 * It claims the URLs no dialect matches.
 */
const testDialect: Dialect = {
  name: 'test',
  fallback: true,
  errors: () => ({
    matches: (path) => path.startsWith('/t/'),
    render: (err) => ({
      status: err.httpStatusFor('cloud'),
      body: { error: { code: err.codeFor('cloud'), details: err.details } },
      contentType: 'application/json',
    }),
  }),
  plugin: async (app, { ctx, errors }) => {
    app.setErrorHandler(dialectErrorHandler(errors))
    app.addHook('onRequest', async (request) => {
      if (request.headers.authorization !== `Bearer ${TOKEN}`) {
        throw new WaboxError(CloudCode.ACCESS_TOKEN_EXPIRED, 'Invalid OAuth access token')
      }
    })
    app.post<{ Params: { id: string } }>('/t/:id/messages', async (request) => {
      const number = await ctx.store.numbers.get(request.params.id)
      if (!number) throw new WaboxError(CloudCode.RESOURCE_NOT_FOUND, `no number ${request.params.id}`)
      const sent = await sendMessage(ctx, number, request.body, { requireNamespace: false, uploadRoute: 'POST /t/{id}/media' })
      return { messages: [{ id: sent.id }], contacts: [{ wa_id: sent.to }] }
    })
  },
  docs: {
    description: 'A test dialect.',
    securitySchemes: { testBearer: { type: 'http', scheme: 'bearer' } },
    security: [{ testBearer: [] }],
  },
}

const TEMPLATE = { name: 'hello', language: { code: 'en_US' } }

describeEachDatabase('dialects as plugins over shared services', (ctx) => {
  let t: WebTest
  let port: number
  const bearer = { authorization: `Bearer ${TOKEN}` }
  beforeAll(async () => {
    t = await createWebTest(ctx(), {}, [onPremDialect, testDialect])
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    port = (t.app.server.address() as AddressInfo).port
  })
  afterAll(async () => t.close())

  it('a second dialect sends through the shared service with its own rules; On-Prem keeps its own', async () => {
    const res = await t.app.inject({
      method: 'POST', url: `/t/${t.a.id}/messages`, headers: bearer, payload: { to: '+1 631-555-0101', type: 'template', template: TEMPLATE },
    })
    expect(res.statusCode, res.body).toBe(200)
    const { messages, contacts } = res.json() as { messages: [{ id: string }]; contacts: [{ wa_id: string }] }
    expect(contacts[0].wa_id).toBe('16315550101')
    const row = await t.store.messages.get(messages[0].id)
    expect(row).toMatchObject({ phone_number_id: t.a.id, direction: 'out' })

    // On-Prem requires the namespace the test dialect does not
    const onPrem = await call(t.app, { d360: t.keyA }, { method: 'POST', url: '/v1/messages', payload: { to: '16315550101', type: 'template', template: TEMPLATE } })
    expect(onPrem.statusCode).toBe(400)
    expect(firstError(onPrem).code).toBe(2014)
  })

  it('each dialect answers its own routes in its own envelope, behind its own auth', async () => {
    const bad = await t.app.inject({ method: 'POST', url: `/t/${t.a.id}/messages`, headers: bearer, payload: { to: 'nobody', text: { body: 'x' } } })
    expect(bad.statusCode).toBe(400)
    expect(bad.headers['content-type']).toMatch(/^application\/json/)
    expect(bad.json()).toEqual({ error: { code: 131009, details: expect.stringContaining("'to'") } })

    const noToken = await t.app.inject({ method: 'POST', url: `/t/${t.a.id}/messages`, payload: { to: '16315550101', text: { body: 'x' } } })
    expect(noToken.statusCode).toBe(401)
    expect(noToken.json()).toEqual({ error: { code: 190, details: 'Invalid OAuth access token' } })

    // the test dialect's hook does not guard On-Prem routes, nor On-Prem's guard the test dialect's
    const health = await call(t.app, { d360: t.keyA }, { method: 'GET', url: '/v1/health' })
    expect(health.statusCode).toBe(200)
    const onPremNoKey = await t.app.inject({ method: 'GET', url: '/v1/health' })
    expect(firstError(onPremNoKey).code).toBe(1005)
  })

  it('not found and 405 take the envelope of the URL\'s dialect; the fallback takes unclaimed URLs', async () => {
    const theirs = await t.app.inject({ method: 'GET', url: '/t/nosuch' })
    expect(theirs.statusCode).toBe(404)
    expect(theirs.json()).toEqual({ error: { code: 131006, details: 'Unknown endpoint GET /t/nosuch' } })

    const onPrem = await t.app.inject({ method: 'GET', url: '/v1/nosuch' })
    expect(firstError(onPrem)).toMatchObject({ code: 1006, details: 'Unknown endpoint GET /v1/nosuch' })

    const unclaimed = await t.app.inject({ method: 'GET', url: '/v23.0/nosuch' })
    expect(unclaimed.json().error.code).toBe(131006)

    const wrongMethod = await t.app.inject({ method: 'GET', url: `/t/${t.a.id}/messages` })
    expect(wrongMethod.statusCode).toBe(405)
    expect(wrongMethod.headers.allow).toBe('POST')
    expect(wrongMethod.json().error.details).toContain('use POST')
  })

  it('malformed framing takes the dialect of its URL, else of the connection\'s previous request, else the first dialect', async () => {
    const theirs = await rawRequest(port, 'FOO /t/x HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(theirs.status).toBe(400)
    expect(JSON.parse(theirs.body).error.details).toContain('method')

    const unreadable = await rawRequest(port, 'HELLO\r\n\r\n')
    expect(JSON.parse(unreadable.body).errors[0].code).toBe(1025)

    const good = `GET /v1/health HTTP/1.1\r\nHost: x\r\nD360-API-KEY: ${t.keyA}\r\n\r\n`
    const afterOnPrem = parseResponses(await rawExchange(port, good, 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n'))
    expect(afterOnPrem.map((r) => r.status)).toEqual([200, 400])
    expect(JSON.parse(afterOnPrem[1]!.body).errors[0].code).toBe(1025)
  })

  it('/docs describes the routes and credentials of every dialect', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json() as {
      paths: Record<string, unknown>; components: { securitySchemes: Record<string, unknown> }
    }
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/messages', '/t/{id}/messages']))
    expect(Object.keys(doc.components.securitySchemes)).toEqual(expect.arrayContaining(['d360', 'testBearer']))
  })
})

describeEachDatabase('On-Prem alone', (ctx) => {
  let t: WebTest
  beforeAll(async () => {
    t = await createWebTest(ctx(), {}, [onPremDialect])
  })
  afterAll(async () => t.close())

  it('answers every URL in its envelope while no dialect claims the others', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v23.0/123/messages' })
    expect(res.statusCode).toBe(404)
    expect(firstError(res)).toMatchObject({ code: 1006, details: 'Unknown endpoint GET /v23.0/123/messages' })
  })
})

describe('the dialect registry', () => {
  it('is refused empty: some dialect must answer', async () => {
    const { ErrorDialects } = await import('../src/webapp/dialects.js')
    expect(() => new ErrorDialects().for('/v1/x')).toThrow('no dialect is registered')
  })
})
