import { afterAll, beforeAll, expect, it } from 'vitest'
import { splitFields } from '../src/webapp/cloud/analytics.js'
import { createCloudTest, graphError, type CloudTest } from './helpers/cloud.js'
import { describeEachDatabase } from './helpers/databases.js'

const DAY = 24 * 60 * 60 * 1000
/** 2026-11-02 00:00 UTC. */
const MONDAY = Date.UTC(2026, 10, 2)

it('splits Graph fields at top-level commas only', () => {
  expect(splitFields('id,pricing_analytics.start(1).phone_numbers(["a","b"]),name')).toEqual(['id', 'pricing_analytics.start(1).phone_numbers(["a","b"])', 'name'])
})

describeEachDatabase('Cloud API: WABA pricing analytics', (ctx) => {
  let t: CloudTest
  beforeAll(async () => {
    t = await createCloudTest(ctx())
    // delivered: 2 marketing + 1 service on Monday (one of them to number c of another WABA), 1 utility on Tuesday; one only sent
    const sent = [
      ['m1', t.a.id, 'marketing', MONDAY + 1000], ['m2', t.b.id, 'marketing', MONDAY + 2000], ['m3', t.a.id, 'service', MONDAY + 3000],
      ['m4', t.a.id, 'utility', MONDAY + DAY + 5], ['m5', t.a.id, 'marketing', MONDAY + 7], ['m6', t.c.id, 'marketing', MONDAY + 9],
    ] as const
    await t.store.messages.insertOutbound(sent.map(([id, phoneNumberId, category]) => ({ id: `${id}-${t.a.id}`, phoneNumberId, to: '15550001111', type: 'text', content: {}, shard: 0, category })))
    await t.store.outbox.recordStatuses(sent.filter(([id]) => id !== 'm5').map(([id, , , at]) => ({ messageId: `${id}-${t.a.id}`, status: 'delivered', at })))
  })
  afterAll(async () => t.close())

  const get = (query: string, token: string = t.token) =>
    t.app.inject({ method: 'GET', url: `/v23.0/${t.wabaId}?${query}`, headers: { authorization: `Bearer ${token}` } })
  const range = `start(${MONDAY / 1000}).end(${(MONDAY + 3 * DAY) / 1000})`

  it('counts delivered business messages by day and pricing category', async () => {
    const res = await get(`fields=name,pricing_analytics.${range}.granularity(DAILY)`)
    expect(res.statusCode, res.body).toBe(200)
    const day = (ms: number) => ({ start: ms / 1000, end: (ms + DAY) / 1000 })
    expect(res.json()).toEqual({
      name: 'Acme',
      pricing_analytics: {
        data: [{
          data_points: [
            { ...day(MONDAY), volume: 2, pricing_category: 'MARKETING', pricing_type: 'REGULAR' },
            { ...day(MONDAY), volume: 1, pricing_category: 'SERVICE', pricing_type: 'FREE_CUSTOMER_SERVICE' },
            { ...day(MONDAY + DAY), volume: 1, pricing_category: 'UTILITY', pricing_type: 'REGULAR' },
          ],
        }],
      },
      id: t.wabaId,
    })
    const filtered = await get(`fields=pricing_analytics.${range}.phone_numbers(["${t.b.wa_id}"]).pricing_categories(["MARKETING"])`)
    expect(filtered.json().pricing_analytics.data[0].data_points).toEqual([{ ...day(MONDAY), volume: 1, pricing_category: 'MARKETING', pricing_type: 'REGULAR' }])
    expect((await get('')).json()).toEqual({ id: t.wabaId, name: 'Acme' })
  })

  it('answers 100 for a bad range, granularity, modifier or field; other WABAs are not found', async () => {
    for (const query of [
      'fields=pricing_analytics.end(1700000000)', 'fields=pricing_analytics.start(1700000000).end(1600000000)',
      `fields=pricing_analytics.${range}.granularity(HOURLY)`, `fields=pricing_analytics.${range}.colour(red)`,
      `fields=pricing_analytics.${range}.phone_numbers(1555)`, 'fields=pricing_analytics.start(x).end(1)', 'fields=balance',
      'fields=pricing_analytics.start(1).end(100000000)',
    ]) {
      const res = await get(query)
      expect(res.statusCode, query).toBe(400)
      expect(graphError(res).code, query).toBe(100)
    }
    expect(graphError(await get('fields=name', t.otherToken))).toMatchObject({ code: 100, error_subcode: 33 })
    expect(graphError(await get('fields=name', t.messagingToken))).toMatchObject({ code: 10 })
  })
})
