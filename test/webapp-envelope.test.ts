import http, { type IncomingMessage } from 'node:http'
import { once } from 'node:events'
import net, { type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, describeEachDatabase } from './helpers/databases.js'
import { envelopeProblem, firstErrorOf } from './helpers/fuzz-envelope.js'
import { parseResponses, rawExchange, rawRequest, type RawResponse } from './helpers/fuzz-raw-http.js'
import { call, createWebTest, firstError, VERSION, type WebTest } from './helpers/webapp.js'

/** [case, raw request (no Host/Connection/credentials: added), status, code, words the details must name] */
type Case = [string, string, number, number, string]

const HEAD_CASES: Case[] = [
  ['malformed percent-encoding in the path', 'GET /v1/%zz HTTP/1.1', 400, 1009, 'percent-encoding'],
  ['a path parameter that is not UTF-8', 'GET /v1/media/%E0%A4%A HTTP/1.1', 400, 1009, 'percent-encoding'],
  ['malformed percent-encoding in the query', 'GET /v1/health?format=%zz HTTP/1.1', 400, 1009, "query parameter 'format'"],
  ['a query that is not UTF-8', 'GET /v1/health?x=1&name=%C3%28 HTTP/1.1', 400, 1009, "query parameter 'name'"],
  ['an over-long path parameter', `GET /v1/media/${'a'.repeat(300)} HTTP/1.1`, 414, 1009, '100 characters'],
  ['a method the path does not take', 'PATCH /v1/health HTTP/1.1', 405, 1025, 'GET'],
  ['OPTIONS on an endpoint', 'OPTIONS /v1/messages HTTP/1.1', 405, 1025, 'POST'],
  ['an unknown endpoint', 'GET /v1/nosuch HTTP/1.1', 404, 1006, '/v1/nosuch'],
]

/** Requests Node's HTTP parser refuses before Fastify sees them. */
const FRAMING_CASES: [string, string, number, string][] = [
  ['an unknown method', 'FOO /v1/health HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'method'],
  ['a request line that is not HTTP', 'HELLO\r\n\r\n', 400, 'request line'],
  ['a NUL byte in the URL', 'GET /v1/media/a\0b HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'URL'],
  ['an invalid Content-Length', 'POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}', 400, 'Content-Length'],
  ['two different Content-Lengths', 'POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}', 400, 'Content-Length'],
  ['Content-Length with chunked', 'POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'Transfer-Encoding'],
  ['chunked garbage', 'POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n', 400, 'chunk'],
  ['a header name with a space', 'GET /v1/health HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n', 400, 'header'],
  ['headers over the size limit', `GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'KB'],
]

function expectEnvelope(res: RawResponse, status: number, what: string): void {
  expect(res.status, `${what}: ${res.body}`).toBe(status)
  expect(envelopeProblem(res.status, res.headers['content-type'], res.body, VERSION), what).toBeUndefined()
}

describeEachDatabase('the On-Prem envelope on every error', (ctx) => {
  let t: WebTest
  let port: number
  beforeAll(async () => {
    t = await createWebTest(ctx())
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    port = (t.app.server.address() as AddressInfo).port
  })
  afterAll(async () => t.close())

  it.each(HEAD_CASES)('%s', async (what, line, status, code, named) => {
    const res = await rawRequest(port, `${line}\r\nHost: x\r\nD360-API-KEY: ${t.keyA}\r\nConnection: close\r\n\r\n`)
    expectEnvelope(res, status, what)
    expect(firstErrorOf(res.body)).toMatchObject({ code })
    expect(firstErrorOf(res.body).details).toContain(named)
  })

  it('405 names the methods the path takes in Allow', async () => {
    const res = await rawRequest(port, `DELETE /v1/messages/wamid.x HTTP/1.1\r\nHost: x\r\nD360-API-KEY: ${t.keyA}\r\nConnection: close\r\n\r\n`)
    expectEnvelope(res, 405, 'DELETE on a message')
    expect(res.headers.allow).toBe('PUT')
  })

  it.each(FRAMING_CASES)('malformed framing: %s', async (what, request, status, named) => {
    const res = await rawRequest(port, request)
    expectEnvelope(res, status, what)
    expect(firstErrorOf(res.body)).toMatchObject({ code: 1025 })
    expect(firstErrorOf(res.body).details).toContain(named)
    expect(res.headers.connection).toBe('close')
  })

  it('asks for the Host header HTTP/1.1 requires', async () => {
    const res = await rawRequest(port, `GET /v1/health HTTP/1.1\r\nD360-API-KEY: ${t.keyA}\r\nConnection: close\r\n\r\n`)
    expectEnvelope(res, 400, 'no Host')
    expect(firstErrorOf(res.body)).toMatchObject({ code: 1008 })
    expect(firstErrorOf(res.body).details).toContain("'Host'")
  })

  it('answers an Expect other than 100-continue with 417 in the envelope', async () => {
    const res = await rawRequest(port, `GET /v1/health HTTP/1.1\r\nHost: x\r\nD360-API-KEY: ${t.keyA}\r\nExpect: teapot\r\nConnection: close\r\n\r\n`)
    expectEnvelope(res, 417, 'Expect: teapot')
    expect(firstErrorOf(res.body).details).toContain("'Expect'")
  })

  it('answers CONNECT with 405 in the envelope instead of dropping the connection', async () => {
    const res = await rawRequest(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
    expectEnvelope(res, 405, 'CONNECT')
    expect(firstErrorOf(res.body).details).toContain('CONNECT')
  })

  it('survives CONNECT requests whose clients reset the connection before reading the answer', async () => {
    for (let i = 0; i < 20; i++) {
      const socket = net.connect(port, '127.0.0.1')
      await once(socket, 'connect')
      socket.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
      // a reset (RST) instead of a close: the answer meets a connection that is gone
      if (i % 2 === 0) await once(socket, 'data')
      socket.resetAndDestroy()
      await once(socket, 'close')
    }
    const res = await rawRequest(port, `GET /v1/health HTTP/1.1\r\nHost: x\r\nD360-API-KEY: ${t.keyA}\r\nConnection: close\r\n\r\n`)
    expect(res.status).toBe(200)
  })

  it('answers framing garbage after a good request on the same keep-alive connection', async () => {
    const good = `GET /v1/health HTTP/1.1\r\nHost: x\r\nD360-API-KEY: ${t.keyA}\r\n\r\n`
    const responses = parseResponses(await rawExchange(port, good, 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n'))
    expect(responses.map((r) => r.status)).toEqual([200, 400])
    expectEnvelope(responses[1]!, 400, 'garbage after a good request')
  })

  it('names the refused Content-Type', async () => {
    const res = await rawRequest(port, `POST /v1/messages HTTP/1.1\r\nHost: x\r\nD360-API-KEY: ${t.keyA}\r\nContent-Type: application/xml\r\nContent-Length: 4\r\nConnection: close\r\n\r\n<a/>`)
    expectEnvelope(res, 415, 'XML body')
    expect(firstErrorOf(res.body).details).toContain("'application/xml'")
    expect(firstErrorOf(res.body).details).toContain('application/json')
  })

  it('answers a missing profile photo with the envelope', async () => {
    const res = await rawRequest(port, `GET /v1/settings/profile/photo HTTP/1.1\r\nHost: x\r\nD360-API-KEY: ${t.keyA}\r\nConnection: close\r\n\r\n`)
    expectEnvelope(res, 404, 'no photo')
    expect(firstErrorOf(res.body)).toMatchObject({ code: 1006 })
  })

  it('serves the Swagger UI with a query string', async () => {
    const res = await rawRequest(port, 'GET /docs?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(res.status).toBeLessThan(400)
  })
})

/** Found by the fuzz suite: PostgreSQL refused these values with a 500 (NUL in text, integers past bigint). */
const UNSTORABLE: [string, 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', string, object | undefined, string][] = [
  ['NUL in a media id', 'GET', '/v1/media/%00', undefined, "path parameter 'id'"],
  ['NUL in a message id', 'PUT', '/v1/messages/a%00b', { status: 'read' }, "path parameter 'id'"],
  ['NUL in a username', 'DELETE', '/v1/users/%00', undefined, "path parameter 'username'"],
  ['NUL in a repeated query parameter', 'GET', '/v1/health?x=a&x=b%00', undefined, "query parameter 'x'"],
  ['a seq past 2^53', 'GET', '/v1/callbacks/99999999999999999999', undefined, "'seq'"],
  ['an after past 2^53', 'GET', '/v1/callbacks?after=99999999999999999999', undefined, "'after'"],
  ['NUL in the about text', 'PATCH', '/v1/settings/profile/about', { text: 'a\u0000b' }, "'text'"],
  ['NUL in a new username', 'POST', '/v1/users', { username: 'a\u0000b', password: 'Passw0rd!x' }, "'username'"],
  ['NUL in a business profile field', 'POST', '/v1/settings/business/profile', { address: 'x', description: 'y', email: 'a@b.c', vertical: 'Retail', websites: ['https://a\u0000b.example'] }, "'websites[0]'"],
  ['NUL in a field name', 'PATCH', '/v1/settings/application', { ['a\u0000b']: 1 }, 'names must not contain NUL'],
]

describeEachDatabase('values the database cannot store', (ctx) => {
  let t: WebTest
  beforeAll(async () => {
    t = await createWebTest(ctx())
  })
  afterAll(async () => t.close())

  it.each(UNSTORABLE)('%s is a 400 naming the field', async (_what, method, url, payload, named) => {
    const res = await call(t.app, { bearer: t.admin }, { method, url, ...(payload ? { payload } : {}) })
    expect(res.statusCode, res.body).toBe(400)
    expect(firstError(res)).toMatchObject({ code: 1009 })
    expect(firstError(res).details).toContain(named)
  })
})

describeEachDatabase('the body limit', (ctx) => {
  it('413 names the configured limit', async () => {
    const t = await createWebTest(ctx(), { limits: { jsonBodyBytes: 2048, messagesBurst: 100_000, otherBurst: 100_000 } })
    try {
      const res = await call(t.app, { bearer: t.admin }, { method: 'POST', url: '/v1/messages', payload: { to: '15551234', type: 'text', text: { body: 'x'.repeat(3000) } } })
      expect(res.statusCode).toBe(413)
      expect(firstError(res).details).toContain('at most 2 KB')
    } finally {
      await t.close()
    }
  })
})

describe('a request that arrives while the server closes', () => {
  it('gets 503 in the envelope', async () => {
    const db = await createTestDatabase('sqlite')
    const t = await createWebTest(db)
    await t.close()
    // the closed app's router still answers: what a request already parsed during close meets
    const server = http.createServer((req: IncomingMessage, res) => t.app.routing(req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const res = await rawRequest((server.address() as AddressInfo).port, `GET /v1/health HTTP/1.1\r\nHost: x\r\nD360-API-KEY: ${t.keyA}\r\nConnection: close\r\n\r\n`)
      expectEnvelope(res, 503, 'request during close')
      expect(firstErrorOf(res.body)).toMatchObject({ code: 1011 })
    } finally {
      await new Promise((resolve) => server.close(resolve))
      await db.cleanup()
    }
  })
})
