import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachDatabase } from './helpers/databases.js'
import { call, createWebTest, firstError, type WebTest } from './helpers/webapp.js'

// ~1 MiB of BEGIN lines without an END: a lazy `[\s\S]+?` scan from each one costs the square of
// the body (8 to 13 s per request); a linear scan takes well under 0.2 s. The budget is wide so a
// busy machine cannot fail a linear parser, and narrow enough that a quadratic one always does.
const UNTERMINATED = '-----BEGIN CERTIFICATE-----'.repeat(38_000)
const BUDGET_MS = 3000

describeEachDatabase('webapp parses PEM bodies in linear time', (ctx) => {
  let t: WebTest
  beforeAll(async () => {
    t = await createWebTest(ctx())
  })
  afterAll(async () => t.close())

  const post = (url: string) =>
    call(t.app, { bearer: t.admin }, { method: 'POST', url, headers: { 'content-type': 'text/plain' }, payload: UNTERMINATED })

  for (const [url, code] of [['/v1/certificates/webhooks/ca', 1009], ['/v1/certificates/external', 1008]] as const) {
    it(`${url}: a megabyte of unterminated PEM blocks is refused promptly (${code})`, async () => {
      const started = performance.now()
      const res = await post(url)
      const elapsed = performance.now() - started
      expect(res.statusCode).toBe(400)
      expect(firstError(res)).toMatchObject({ code })
      expect(elapsed).toBeLessThan(BUDGET_MS)
    })
  }
})
