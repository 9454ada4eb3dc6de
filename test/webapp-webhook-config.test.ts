import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeEachDatabase } from './helpers/databases.js'
import { call, createWebTest, firstError, type WebTest } from './helpers/webapp.js'

/** Host names the tests resolve themselves: no DNS traffic, same answer every run. */
const DNS: Record<string, string[]> = {
  'hooks.example.com': ['93.184.216.34'],
  'internal.example.com': ['10.1.2.3'],
  'mixed.example.com': ['93.184.216.34', 'fd00::5'],
}
async function resolve(hostname: string): Promise<string[]> {
  if (hostname === 'slow.example.com') return new Promise<string[]>(() => undefined)
  const found = DNS[hostname]
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
  return found
}

describeEachDatabase('webhook configuration checks', (ctx) => {
  let t: WebTest
  let dev: WebTest
  beforeAll(async () => {
    // the production profile: no http://, no loopback
    t = await createWebTest(ctx(), { allowInsecureWebhooks: false, resolveWebhookHost: resolve, limits: { messagesBurst: 1e5, otherBurst: 1e5, webhookDnsTimeoutMs: 50 } })
    dev = await createWebTest(ctx(), { allowInsecureWebhooks: true, resolveWebhookHost: resolve })
  })
  afterAll(async () => {
    await t.close()
    await dev.close()
  })

  const GOOD = 'https://hooks.example.com/in'
  const configure = (w: WebTest, url: string, headers?: Record<string, string>) =>
    call(w.app, { d360: w.keyA }, { method: 'POST', url: '/v1/configs/webhook', payload: { url, ...(headers ? { headers } : {}) } })
  const patch = (w: WebTest, webhooks: object) =>
    call(w.app, { bearer: w.admin }, { method: 'PATCH', url: '/v1/settings/application', payload: { webhooks } })
  const stored = async (w: WebTest) => w.store.numbers.settings((await w.store.numbers.get(w.a.id))!).webhooks

  describe('headers', () => {
    const cases: [string, Record<string, string>, string, RegExp][] = [
      ['CR/LF in a value', { 'X-Token': 'abc\r\nX-Injected: 1' }, 'headers.X-Token', /CR, LF/],
      ['a bare LF', { 'X-Token': 'abc\ndef' }, 'headers.X-Token', /CR, LF/],
      ['NUL in a value', { Authorization: 'Bearer a\u0000b' }, 'headers.Authorization', /NUL/],
      ['a non-ASCII value', { 'X-Name': 'café' }, 'headers.X-Name', /non-ASCII/],
      ['a space in the name', { 'X Token': 'a' }, 'headers["X Token"]', /RFC 7230 token/],
      ['a colon in the name', { 'X-Token:': 'a' }, 'headers["X-Token:"]', /RFC 7230 token/],
      ['CR/LF in the name', { 'X-A\r\nX-B': 'a' }, 'headers["X-A\\r\\nX-B"]', /RFC 7230 token/],
      ['an empty name', { '': 'a' }, 'headers[""]', /RFC 7230 token/],
      ['a value over 8 KB', { 'X-Big': 'a'.repeat(8193) }, 'headers.X-Big', /at most 8192 characters \(got 8193\)/],
      ['a name over 256 characters', { ['X'.repeat(257)]: 'a' }, `headers.${'X'.repeat(257)}`, /at most 256 characters/],
      ['33 headers', Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`X-H${i}`, 'v'])), 'headers', /at most 32 headers \(got 33\)/],
      ['more than 16 KB together', { 'X-A': 'a'.repeat(8000), 'X-B': 'b'.repeat(8000), 'X-C': 'c'.repeat(800) }, 'headers', /together must be at most 16384/],
      ['the same name twice', { 'X-Token': 'a', 'x-token': 'b' }, 'headers.x-token', /twice/],
    ]

    it('are refused at configuration with 400 / 1009 naming the header, and the stored webhook stays', async () => {
      expect((await configure(t, GOOD, { 'X-Token': 'ok', Authorization: 'Bearer x.y-z~+/=' })).statusCode).toBe(200)
      for (const [what, headers, field, rule] of cases) {
        for (const [route, res, prefix] of [
          ['POST /v1/configs/webhook', await configure(t, GOOD, headers), ''],
          ['PATCH /v1/settings/application', await patch(t, { headers }), 'webhooks.'],
        ] as const) {
          expect(res.statusCode, `${what} via ${route}: ${res.body}`).toBe(400)
          const error = firstError(res)
          expect(error.code, what).toBe(1009)
          expect(error.details, what).toContain(`'${prefix}${field}'`)
          expect(error.details, what).toMatch(rule)
        }
      }
      expect((await stored(t)).headers).toEqual({ 'X-Token': 'ok', Authorization: 'Bearer x.y-z~+/=' })
    })

    it('accepts the limits themselves', async () => {
      const most = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`X-H${i}`, 'v']))
      expect((await configure(t, GOOD, most)).statusCode).toBe(200)
      expect((await configure(t, GOOD, { 'X-Big': 'a'.repeat(8192), "!#$%&'*+-.^_`|~": 'tab\there' })).statusCode).toBe(200)
    })
  })

  describe('URL', () => {
    const refused: [string, RegExp][] = [
      ['https://169.254.169.254/latest/meta-data', /169\.254\.169\.254 is a link-local address/],
      ['https://10.0.0.1/hook', /10\.0\.0\.1 is a private address/],
      ['https://192.168.1.20/hook', /is a private address/],
      ['https://127.0.0.1/hook', /127\.0\.0\.1 is a loopback address/],
      ['https://2130706433/hook', /127\.0\.0\.1 is a loopback address/],
      ['https://[::1]/hook', /::1 is a loopback address/],
      ['https://[fd00::1]/hook', /fd00::1 is a private address/],
      ['https://[fe80::1]/hook', /is a link-local address/],
      ['https://[::ffff:10.0.0.1]/hook', /is a private address/],
      ['https://0.0.0.0/hook', /is a unspecified address/],
      ['https://localhost/hook', /localhost is a loopback address/],
      ['https://api.localhost/hook', /api\.localhost is a loopback address/],
      ['https://internal.example.com/hook', /internal\.example\.com resolves to 10\.1\.2\.3, a private address/],
      ['https://mixed.example.com/hook', /mixed\.example\.com resolves to fd00::5, a private address/],
      ['http://hooks.example.com/hook', /must be an https:\/\/ URL/],
      ['ftp://hooks.example.com/hook', /must be an https:\/\/ URL/],
    ]

    it('to a private, loopback, link-local or metadata address is refused at configuration, naming the field', async () => {
      for (const [url, rule] of refused) {
        for (const [res, field] of [[await configure(t, url), "'url'"], [await patch(t, { url }), "'webhooks.url'"]] as const) {
          expect(res.statusCode, `${url}: ${res.body}`).toBe(400)
          expect(firstError(res).code, url).toBe(1009)
          expect(firstError(res).details, url).toContain(field)
          expect(firstError(res).details, url).toMatch(rule)
        }
      }
      expect((await stored(t)).url).not.toMatch(/169\.254|10\.0\.0\.1|localhost|internal/)
    })

    it('to a public address is accepted; a name that does not resolve, or not in time, is left to the delivery guard', async () => {
      for (const url of [GOOD, 'https://93.184.216.34/x', 'https://nowhere.example.com/x', 'https://slow.example.com/x']) {
        const res = await configure(t, url)
        expect(res.statusCode, `${url}: ${res.body}`).toBe(200)
        expect((await stored(t)).url).toBe(url)
      }
    })

    it('the dev profile still allows loopback receivers, http:// included, but nothing else private', async () => {
      for (const url of ['http://127.0.0.1:8080/h', 'http://localhost:8080/h', 'http://[::1]:8080/h', 'https://127.0.0.1:8443/h']) {
        const res = await configure(dev, url)
        expect(res.statusCode, `${url}: ${res.body}`).toBe(200)
      }
      for (const url of ['https://169.254.169.254/x', 'https://10.0.0.1/x', 'http://10.0.0.1/x', 'http://hooks.example.com/x', 'https://internal.example.com/x']) {
        const res = await configure(dev, url)
        expect(res.statusCode, url).toBe(400)
        expect(firstError(res).details, url).toContain("'url'")
      }
    })
  })
})
