import { afterAll, beforeAll, expect, it } from 'vitest'
import { createCloudTest, graphError, type CloudTest } from './helpers/cloud.js'
import { describeEachDatabase } from './helpers/databases.js'

describeEachDatabase('Cloud API: phone numbers', (ctx) => {
  let t: CloudTest
  beforeAll(async () => {
    t = await createCloudTest(ctx())
  })
  afterAll(async () => t.close())

  const get = (url: string, token: string = t.token) => t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })

  it('reads a phone number with Meta\'s default fields, Cloud- and On-Premises-hosted alike', async () => {
    const cloud = await get(`/v23.0/${t.a.id}`)
    expect(cloud.statusCode, cloud.body).toBe(200)
    expect(cloud.json()).toEqual({
      verified_name: t.a.display_name,
      code_verification_status: 'VERIFIED',
      display_phone_number: `+${t.a.cc} ${t.a.number}`,
      quality_rating: 'UNKNOWN',
      platform_type: 'CLOUD_API',
      throughput: { level: 'STANDARD' },
      id: t.a.id,
    })
    const onPrem = await get(`/${t.b.id}/`)
    expect(onPrem.statusCode, onPrem.body).toBe(200)
    expect(onPrem.json()).toMatchObject({ id: t.b.id, platform_type: 'ON_PREMISE' })
  })

  it('answers the fields asked for with ?fields=, id always; an unknown field is 100 naming it', async () => {
    const res = await get(`/v24.0/${t.a.id}?fields=platform_type,status,is_pin_enabled`)
    expect(res.json()).toEqual({ platform_type: 'CLOUD_API', status: 'CONNECTED', is_pin_enabled: false, id: t.a.id })
    const bad = await get(`/${t.a.id}?fields=platform_type,colour`)
    expect(bad.statusCode).toBe(400)
    expect(graphError(bad)).toMatchObject({ code: 100, error_data: { details: expect.stringContaining('(colour)') } })
  })

  it('hides numbers of other WABAs: 100 with subcode 33, as for an id that does not exist', async () => {
    for (const id of [t.c.id, '123456789012345']) {
      const res = await get(`/v23.0/${id}`)
      expect(res.statusCode).toBe(400)
      expect(graphError(res)).toMatchObject({ code: 100, error_subcode: 33, error_data: { details: expect.stringContaining(`Object with ID '${id}'`) } })
    }
    expect((await get(`/${t.c.id}`, t.otherToken)).json()).toMatchObject({ id: t.c.id })
    const noToken = await t.app.inject({ method: 'GET', url: `/v23.0/${t.a.id}` })
    expect(noToken.statusCode).toBe(401)
    expect(graphError(noToken).code).toBe(190)
  })

  it('lists the WABA\'s numbers with paging cursors; another WABA is 100; it needs the management permission', async () => {
    const res = await get(`/v23.0/${t.wabaId}/phone_numbers`)
    expect(res.statusCode, res.body).toBe(200)
    const body = res.json() as { data: { id: string; platform_type: string }[]; paging: { cursors: { before: string; after: string } } }
    expect(body.data.map((n) => [n.id, n.platform_type])).toEqual([[t.a.id, 'CLOUD_API'], [t.b.id, 'ON_PREMISE']])
    expect(body.data[0]).toEqual(expect.objectContaining({ display_phone_number: expect.any(String), verified_name: expect.any(String), throughput: { level: 'STANDARD' } }))
    expect(Buffer.from(body.paging.cursors.before, 'base64url').toString()).toBe(t.a.id)
    expect(Buffer.from(body.paging.cursors.after, 'base64url').toString()).toBe(t.b.id)

    const fields = await get(`/${t.wabaId}/phone_numbers?fields=verified_name`)
    expect(fields.json().data).toEqual([{ verified_name: t.a.display_name, id: t.a.id }, { verified_name: t.b.display_name, id: t.b.id }])

    const other = await get(`/${t.otherWabaId}/phone_numbers`)
    expect(graphError(other)).toMatchObject({ code: 100, error_subcode: 33 })
    const messagingOnly = await get(`/${t.wabaId}/phone_numbers`, t.messagingToken)
    expect(messagingOnly.statusCode).toBe(403)
    expect(graphError(messagingOnly)).toMatchObject({ code: 10, error_data: { details: expect.stringContaining('whatsapp_business_management') } })
  })

  it('serves the Cloud routes in /docs under the tag cloud, with the access-token scheme', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json() as {
      paths: Record<string, Record<string, { tags?: string[] }>>; components: { securitySchemes: Record<string, unknown> }
    }
    for (const [path, method] of [['/{phone_number_id}/messages', 'post'], ['/{id}', 'get'], ['/{waba_id}/phone_numbers', 'get']] as const) {
      expect(doc.paths[path]?.[method]?.tags, path).toEqual(['cloud'])
    }
    expect(doc.components.securitySchemes).toHaveProperty('graphToken')
  })
})
