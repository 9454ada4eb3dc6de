import { readFileSync } from 'node:fs'
import { describe, it, expect } from 'vitest'
import {
  CATALOGUE,
  CloudCode,
  OnPremCode,
  WaboxError,
  WebhookCode,
  asWaboxError,
  catalogueEntry,
  cloudEntry,
  isKnownCode,
  onPremEntry,
  renderCloud,
  renderOnPrem,
  toCloudCode,
  toOnPremCode,
  webhookError,
  type CatalogueEntry,
  type CloudCodeValue,
  type KnownCode,
  type OnPremCodeValue,
} from '../src/errors/index.js'

interface DocRow { code: number, title: string, status: number | null, twin: number, webhookTwin?: number }

const SECTIONS = {
  'On-Prem client codes': (e: CatalogueEntry) => e.dialect === 'onprem' && !e.webhookOnly,
  'On-Prem webhook status codes': (e: CatalogueEntry) => e.webhookOnly,
  'Cloud codes': (e: CatalogueEntry) => e.dialect === 'cloud',
} as const

/** Table rows of docs/errors.md grouped by their `## ` heading. */
function readDoc(): Map<string, DocRow[]> {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')
  const out = new Map<string, DocRow[]>()
  let section = ''
  for (const line of doc.split('\n')) {
    if (line.startsWith('## ')) section = line.slice(3).trim()
    const cells = line.split('|').slice(1, -1).map((c) => c.trim())
    if (cells.length !== 4 || !/^\d+$/.test(cells[0] ?? '')) continue
    const [code, title, status, twin] = cells as [string, string, string, string]
    const m = /^(\d+)(?: \(webhook (\d+)\))?$/.exec(twin)
    if (!m) throw new Error(`bad twin cell: ${line}`)
    const row: DocRow = { code: Number(code), title, status: status === '—' ? null : Number(status), twin: Number(m[1]) }
    if (m[2] !== undefined) row.webhookTwin = Number(m[2])
    out.set(section, [...(out.get(section) ?? []), row])
  }
  return out
}

describe('catalogue ↔ docs/errors.md', () => {
  const doc = readDoc()

  it('has exactly the three dialect tables', () => {
    expect([...doc.keys()].sort()).toEqual(Object.keys(SECTIONS).sort())
  })

  for (const [section, pick] of Object.entries(SECTIONS)) {
    it(`${section}: same codes, titles, statuses and twins both ways`, () => {
      const rows = doc.get(section) ?? []
      const entries = CATALOGUE.filter(pick)
      expect(new Set(rows.map((r) => r.code)).size).toBe(rows.length)
      expect(rows.map((r) => r.code).sort((a, b) => a - b)).toEqual(entries.map((e) => e.code).sort((a, b) => a - b))
      for (const e of entries) {
        const row = rows.find((r) => r.code === e.code)
        const expected: DocRow = { code: e.code, title: e.title, status: e.httpStatus, twin: e.twin }
        if (e.webhookTwin !== undefined && e.webhookTwin !== e.twin) expected.webhookTwin = e.webhookTwin
        expect(row, `code ${e.code}`).toEqual(expected)
      }
    })
  }
})

describe('catalogue contents', () => {
  const codes = (d: string) => d.split(/\s+/).filter(Boolean).map(Number)

  it('holds every On-Prem client code of onprem §9.2', () => {
    const spec = codes(`1000 1001 1002 1003 1004 1005 1006 1007 1008 1009 1010 1011 1012 1013 1014 1015 1016
      1017 1018 1021 1022 1023 1024 1025 1026 1028 1031 2000 2001 2002 2003 2004 2005 2006 2007 2008 2009
      2010 2011 2012 2013 2014 2015 2016 2017 2023 2024 2025 2026 2027 2028 2029 2030 2036 2050 2060 2061
      2062 2068 2069`)
    const client = CATALOGUE.filter((e) => e.dialect === 'onprem' && !e.webhookOnly).map((e) => e.code)
    expect(client).toEqual(spec)
  })

  it('holds every webhook status code of onprem §9.3, webhook-only without HTTP status', () => {
    const webhook = CATALOGUE.filter((e) => e.webhookOnly)
    expect(webhook.map((e) => e.code)).toEqual(codes('400 401 402 408 410 429 430 432 433 470 471 472 480 500 501'))
    for (const e of webhook) expect([e.dialect, e.httpStatus]).toEqual(['onprem', null])
  })

  it('holds every Cloud code of cloud §4.2 plus the mirrored §9.4 twins and 131062 (cloud-2026 §1.3)', () => {
    const spec = codes(`0 1 2 3 4 10 33 100 190 200 368 80007 130429 130472 130497 131000 131005 131008 131009
      131016 131021 131026 131030 131031 131042 131045 131047 131048 131049 131050 131051 131052 131053
      131056 131057 131062 132000 132001 132005 132007 132012 132015 132016 132068 132069 133000 133004 133005
      133006 133008 133009 133010 133015 133016 135000 131001 131002 131006 2200 136025`)
    const cloud = CATALOGUE.filter((e) => e.dialect === 'cloud').map((e) => e.code)
    expect(cloud.sort((a, b) => a - b)).toEqual(spec.sort((a, b) => a - b))
  })

  it('uses the suggested HTTP statuses', () => {
    const status = (c: number) => catalogueEntry(c)?.httpStatus
    for (const c of [1000, 1001, 1002, 1003, 1004, 1007, 1008, 1009, 1010, 2000, 2030, 2069]) expect(status(c)).toBe(400)
    expect([1005, 1006, 1015, 1014, 1023].map(status)).toEqual([403, 404, 429, 500, 500])
    expect([1011, 1016, 1017, 1018].map(status)).toEqual([503, 503, 503, 503])
    expect([0, 190, 131056, 130429, 132001, 133004].map(status)).toEqual([401, 401, 400, 400, 404, 503])
  })

  it('exposes typed constants and lookups per dialect', () => {
    const p: 1009 = OnPremCode.PARAMETER_INVALID
    const c: 131009 = CloudCode.PARAMETER_INVALID
    const w: 470 = WebhookCode.REENGAGEMENT_MESSAGE
    expect([p, c, w]).toEqual([1009, 131009, 470])
    for (const e of CATALOGUE) {
      const table = e.dialect === 'cloud' ? CloudCode : e.webhookOnly ? WebhookCode : OnPremCode
      expect((table as Record<string, number>)[e.key]).toBe(e.code)
    }
    expect(onPremEntry(1009)?.title).toBe('Parameter value is not valid')
    expect(onPremEntry(131009)).toBeUndefined()
    expect(cloudEntry(131009)?.httpStatus).toBe(400)
    expect(cloudEntry(1009)).toBeUndefined()
    expect(isKnownCode(99999)).toBe(false)
    expect(Object.isFrozen(CATALOGUE[0])).toBe(true)
  })
})

describe('On-Prem ↔ Cloud mapping', () => {
  // onprem §9.4 plus the twins chosen in the brief
  const listed: [OnPremCodeValue, CloudCodeValue][] = [
    [1001, 131001], [1002, 131002], [1005, 131005], [1006, 131006], [1008, 131008], [1009, 131009],
    [1026, 131026], [470, 131047], [2000, 132000], [2001, 132001], [2005, 132005], [2007, 132007],
    [2012, 132012], [2061, 132015], [2062, 132016], [429, 130429], [471, 131048], [1021, 131021],
  ]

  it('follows the listed pairs both ways', () => {
    for (const [onPrem, cloud] of listed) {
      const context = onPremEntry(onPrem).webhookOnly ? 'webhook' : 'sync'
      expect(toCloudCode(onPrem)).toBe(cloud)
      expect(toOnPremCode(cloud, context), `${cloud}`).toBe(onPrem)
    }
    expect([1013, 1015, 1016, 1011].map((c) => toCloudCode(c as OnPremCodeValue))).toEqual([131026, 130429, 131016, 133004])
  })

  it('separates response and webhook twins', () => {
    expect(toOnPremCode(130429)).toBe(1015)
    expect(toOnPremCode(130429, 'webhook')).toBe(429)
    expect(toOnPremCode(131000)).toBe(1000)
    expect(toOnPremCode(131000, 'webhook')).toBe(500)
  })

  it('gives every code a twin in the other dialect', () => {
    for (const e of CATALOGUE) {
      for (const t of [e.twin, e.webhookTwin ?? e.twin]) {
        expect(catalogueEntry(t)?.dialect, `${e.code} → ${t}`).toBe(e.dialect === 'cloud' ? 'onprem' : 'cloud')
      }
    }
  })

  it('round-trips wherever the mapping is one-to-one', () => {
    let pairs = 0
    for (const e of CATALOGUE.filter((x) => x.dialect === 'onprem')) {
      const cloud = cloudEntry(e.twin)
      const context = e.webhookOnly ? 'webhook' : 'sync'
      const back = context === 'webhook' ? cloud?.webhookTwin ?? cloud?.twin : cloud?.twin
      if (back !== e.code) continue
      pairs++
      expect(toOnPremCode(toCloudCode(e.code as OnPremCodeValue), context)).toBe(e.code)
      expect(toCloudCode(toOnPremCode(e.twin as CloudCodeValue, context))).toBe(e.twin)
    }
    expect(pairs).toBeGreaterThanOrEqual(listed.length)
  })

  it('rejects codes of the wrong dialect', () => {
    expect(() => toCloudCode(131009 as unknown as OnPremCodeValue)).toThrow(RangeError)
    expect(() => toOnPremCode(1009 as unknown as CloudCodeValue)).toThrow(RangeError)
  })
})

describe('renderers', () => {
  it('renders the On-Prem envelope', () => {
    expect(renderOnPrem(new WaboxError(OnPremCode.PARAMETER_INVALID, 'bad to'), 'v2.45.1')).toStrictEqual({
      meta: { api_status: 'stable', version: 'v2.45.1' },
      errors: [{ code: 1009, title: 'Parameter value is not valid', details: 'bad to' }],
    })
  })

  it('renders the Graph envelope', () => {
    expect(renderCloud(new WaboxError(CloudCode.PARAMETER_INVALID, 'bad to'), 'AbC123xYz')).toStrictEqual({
      error: {
        message: '(#131009) Parameter value is not valid',
        type: 'OAuthException',
        code: 131009,
        error_data: { messaging_product: 'whatsapp', details: 'bad to' },
        fbtrace_id: 'AbC123xYz',
      },
    })
  })

  it('renders a Cloud-code error in On-Prem and an On-Prem-code error in Cloud', () => {
    const fromCloud = new WaboxError(CloudCode.TEMPLATE_PAUSED, 'quality')
    expect(renderOnPrem(fromCloud, 'v1').errors).toStrictEqual([{ code: 2061, title: 'Template Paused', details: 'quality' }])
    const fromOnPrem = new WaboxError(OnPremCode.TOO_MANY_REQUESTS, 'slow down')
    expect(renderCloud(fromOnPrem, 't').error).toMatchObject({ code: 130429, message: '(#130429) Rate limit hit' })
    expect([fromOnPrem.httpStatusFor('onprem'), fromOnPrem.httpStatusFor('cloud')]).toEqual([429, 400])
  })

  it('builds webhook error objects for both dialects', () => {
    expect(webhookError(WebhookCode.REENGAGEMENT_MESSAGE)).toStrictEqual({
      onPrem: { code: 470, title: 'Re-engagement message' },
      cloud: {
        code: 131047,
        title: 'Re-engagement message',
        message: 'Re-engagement message',
        error_data: { details: 'Re-engagement message' },
        href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
      },
    })
    const fromCloud = webhookError(new WaboxError(CloudCode.RATE_LIMIT_HIT, 'too fast'))
    expect(fromCloud.onPrem).toStrictEqual({ code: 429, title: 'Rate limit hit', details: 'too fast' })
    expect(fromCloud.cloud.error_data).toStrictEqual({ details: 'too fast' })
  })
})

describe('WaboxError', () => {
  it('knows title, dialect and status from the catalogue', () => {
    const err = new WaboxError(OnPremCode.RESOURCE_NOT_FOUND, 'no such media')
    expect(err).toBeInstanceOf(Error)
    expect([err.name, err.title, err.dialect, err.httpStatus]).toEqual(['WaboxError', 'Resource not found', 'onprem', 404])
    expect([err.onPremCode, err.cloudCode]).toEqual([1006, 131006])
    expect(err.message).toBe('(#1006) Resource not found: no such media')
  })

  it('lets the caller override the status, e.g. 401 for bad credentials', () => {
    const cause = new Error('bcrypt mismatch')
    const err = new WaboxError(OnPremCode.ACCESS_DENIED, 'bad credentials', { httpStatus: 401, cause })
    expect([err.httpStatusFor('onprem'), err.httpStatusFor('cloud'), err.cause]).toEqual([401, 401, cause])
    expect(() => new WaboxError(1005, 'x', { httpStatus: 200 })).toThrow(RangeError)
    expect(() => new WaboxError(42 as KnownCode, 'x')).toThrow(RangeError)
  })

  it('borrows a status for webhook-only codes', () => {
    const err = new WaboxError(WebhookCode.REENGAGEMENT_MESSAGE, '24h window closed')
    expect([err.httpStatus, err.cloudCode, err.httpStatusFor('cloud')]).toEqual([400, 131047, 400])
    expect(new WaboxError(CloudCode.REENGAGEMENT_MESSAGE, 'x').httpStatusFor('onprem')).toBe(400)
  })

  it('wraps foreign errors without leaking their message', () => {
    const boom = new Error('SQLITE_BUSY at /var/lib/db')
    const err = asWaboxError(boom)
    expect([err.code, err.details, err.cause, err.httpStatus]).toEqual([1014, 'Unexpected internal error', boom, 500])
    expect(asWaboxError(err)).toBe(err)
  })
})
