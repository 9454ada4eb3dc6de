import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createCloudTest, graphError, type CloudTest } from './helpers/cloud.js'
import { describeEachDatabase } from './helpers/databases.js'
import { apiKey } from './helpers/webapp.js'

const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(300)])

function form(data: Buffer, fields: Record<string, string>): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----d360${randomBytes(6).toString('hex')}`
  const parts: Buffer[] = Object.entries(fields).map(([k, v]) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`))
  parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`), data,
    Buffer.from(`\r\n--${boundary}--\r\n`))
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

describeEachDatabase('360dialog waba-v2 routes', (ctx) => {
  let t: CloudTest
  beforeAll(async () => {
    t = await createCloudTest(ctx())
  })
  afterAll(async () => t.close())

  /** keyA names Cloud-hosted number a; keyB the On-Premises number b. */
  const key = (k: string) => ({ 'd360-api-key': k })
  const send = (body: unknown, k = t.keyA) => t.app.inject({ method: 'POST', url: '/messages', headers: key(k), payload: body as object })
  const upload = async (): Promise<string> => {
    const f = form(jpeg, { messaging_product: 'whatsapp', type: 'image/jpeg' })
    const res = await t.app.inject({ method: 'POST', url: '/media', payload: f.payload, headers: { ...f.headers, ...key(t.keyA) } })
    expect(res.statusCode, res.body).toBe(200)
    return (res.json() as { id: string }).id
  }

  it('sends with POST /messages and answers as Meta does', async () => {
    const res = await send({ messaging_product: 'whatsapp', to: '+1 555 000 9999', type: 'text', text: { body: 'hi' } })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({ messaging_product: 'whatsapp', contacts: [{ input: '+1 555 000 9999', wa_id: '15550009999' }], messages: [{ id: expect.any(String), message_status: 'accepted' }] })
  })

  it('refuses a bad send with a Graph error naming the field', async () => {
    const res = await send({ to: '15550009999', type: 'text', text: { body: 'hi' } })
    expect(res.statusCode).toBe(400)
    expect(graphError(res)).toMatchObject({ code: 100, error_data: { details: expect.stringContaining('messaging_product') } })
  })

  it('refuses a key the Cloud body has no place for, as Meta does', async () => {
    const res = await send({ messaging_product: 'whatsapp', to: '15550009999', type: 'text', text: { body: 'hi', preview: true } })
    expect(res.statusCode).toBe(400)
    expect(graphError(res)).toMatchObject({ code: 100, message: '(#100) Unexpected key "preview" on param "text".' })
  })

  it('answers a missing or unknown key with 190 / 401 "Invalid api_key"', async () => {
    const missing = await t.app.inject({ method: 'POST', url: '/messages', payload: {} })
    expect(missing.statusCode).toBe(401)
    expect(graphError(missing)).toMatchObject({ code: 190, error_data: { details: expect.stringContaining('Invalid api_key') } })
    const unknown = await send({}, 'not-a-key')
    expect(unknown.statusCode).toBe(401)
    expect(graphError(unknown).code).toBe(190)
  })

  it('tells the key of an On-Premises number to use /v1', async () => {
    const res = await send({ messaging_product: 'whatsapp', to: '15550009999', type: 'text', text: { body: 'hi' } }, t.keyB)
    expect(res.statusCode).toBe(400)
    expect(graphError(res).error_data.details).toMatch(/hosted On-Premises.*POST \/v1\/messages/)
  })

  it('uploads, shows, downloads and deletes media with the key; a Bearer token on /{media_id} is the Cloud dialect', async () => {
    const id = await upload()
    const shown = await t.app.inject({ method: 'GET', url: `/${id}`, headers: key(t.keyA) })
    expect(shown.statusCode, shown.body).toBe(200)
    const media = shown.json() as { url: string; mime_type: string; file_size: string; id: string }
    expect(media).toMatchObject({ messaging_product: 'whatsapp', mime_type: 'image/jpeg', file_size: String(jpeg.length), id })
    const url = new URL(media.url)
    expect(url.pathname).toBe('/whatsapp_business/attachments/')
    const download = await t.app.inject({ method: 'GET', url: url.pathname + url.search, headers: key(t.keyA) })
    expect(download.statusCode, download.body).toBe(200)
    expect(download.rawPayload.equals(jpeg)).toBe(true)
    const forged = await t.app.inject({ method: 'GET', url: `${url.pathname}?mid=${id}&expires=1&sig=x`, headers: key(t.keyA) })
    expect(graphError(forged).error_data.details).toContain('sig')

    // the same path with the Cloud credential is the Cloud dialect's object read
    const viaCloud = await t.app.inject({ method: 'GET', url: `/${id}`, headers: { authorization: `Bearer ${t.token}` } })
    expect(new URL((viaCloud.json() as { url: string }).url).pathname).toBe(`/media/download/${id}`)

    const deleted = await t.app.inject({ method: 'DELETE', url: `/${id}`, headers: key(t.keyA) })
    expect(deleted.json()).toEqual({ success: true })
    const gone = await t.app.inject({ method: 'GET', url: `/${id}`, headers: key(t.keyA) })
    expect(gone.statusCode).toBe(400)
    expect(graphError(gone)).toMatchObject({ code: 100, error_subcode: 33 })
  })

  it('hides another number\'s media', async () => {
    const id = await upload()
    const other = await t.store.apiKeys.create(t.c.id, 'd360', 'C')
    const res = await t.app.inject({ method: 'GET', url: `/${id}`, headers: key(other) })
    expect(graphError(res)).toMatchObject({ code: 100, error_subcode: 33 })
  })

  it('reads and changes the business profile in Meta\'s shape', async () => {
    const set = await t.app.inject({
      method: 'POST', url: '/whatsapp_business_profile', headers: key(t.keyA),
      payload: { messaging_product: 'whatsapp', about: 'Open 9-5', email: 'shop@example.com', vertical: 'RETAIL', websites: ['https://example.com'] },
    })
    expect(set.json()).toEqual({ success: true })
    const res = await t.app.inject({ method: 'GET', url: '/whatsapp_business_profile', headers: key(t.keyA) })
    expect(res.json()).toEqual({
      data: [{ about: 'Open 9-5', address: '', description: '', email: 'shop@example.com', websites: ['https://example.com'], vertical: 'RETAIL', messaging_product: 'whatsapp' }],
    })
    const bad = await t.app.inject({ method: 'POST', url: '/whatsapp_business_profile', headers: key(t.keyA), payload: { messaging_product: 'whatsapp', vertical: 'SHOP' } })
    expect(bad.statusCode).toBe(400)
    expect(graphError(bad).error_data.details).toMatch(/vertical.*RETAIL/)
  })

  it('lists the network\'s templates in 360dialog\'s shape, filtered and paged', async () => {
    const body = { type: 'BODY', text: 'Hello {{1}}' }
    t.bridge.pack = {
      namespace: 'ns_1',
      templates: [
        { name: 'welcome', language: 'en', category: 'MARKETING', status: 'APPROVED', components: [body] },
        { name: 'order_update', language: 'en', category: 'UTILITY', status: 'REJECTED', components: [body] },
      ],
    }
    const res = await t.app.inject({ method: 'GET', url: '/v1/configs/templates?limit=1', headers: key(t.keyA) })
    expect(res.json()).toEqual({
      count: 1, filters: {}, limit: 1, offset: 0, sort: ['business_templates.name'], total: 2,
      waba_templates: [{ category: 'UTILITY', components: [body], language: 'en', name: 'order_update', namespace: 'ns_1', rejected_reason: 'UNKNOWN', status: 'rejected' }],
    })
    const filters = encodeURIComponent(JSON.stringify({ 'business_templates.status': 'approved' }))
    const approved = await t.app.inject({ method: 'GET', url: `/v1/configs/templates?filters=${filters}`, headers: key(t.keyA) })
    expect((approved.json() as { waba_templates: { name: string }[] }).waba_templates.map((x) => x.name)).toEqual(['welcome'])
    const bad = await t.app.inject({ method: 'GET', url: '/v1/configs/templates?limit=0', headers: key(t.keyA) })
    expect(bad.statusCode).toBe(400)
    expect(graphError(bad).error_data.details).toContain('limit')
  })

  it('serves /v1/configs/webhook in the shape of the number\'s platform', async () => {
    const url = 'http://127.0.0.1:9/hook'
    const cloud = await t.app.inject({ method: 'POST', url: '/v1/configs/webhook', headers: key(t.keyA), payload: { url } })
    expect(cloud.statusCode, cloud.body).toBe(200)
    expect(cloud.json()).toEqual({ url })
    expect((await t.app.inject({ method: 'GET', url: '/v1/configs/webhook', headers: key(t.keyA) })).json()).toEqual({ url })
    const cloudBad = await t.app.inject({ method: 'POST', url: '/v1/configs/webhook', headers: key(t.keyA), payload: { url: 'ftp://x' } })
    expect(cloudBad.statusCode).toBe(400)
    expect(graphError(cloudBad).error_data.details).toContain('url')

    // refused before it is authorised (a monitoring key), still in its number's format
    const monitoring = await apiKey(t.store, t.a.id, 'monitoring')
    const refused = await t.app.inject({ method: 'POST', url: '/v1/configs/webhook', headers: key(monitoring), payload: { url } })
    expect(refused.statusCode).toBe(403)
    expect(graphError(refused).code).toBe(131005)

    const onPrem = await t.app.inject({ method: 'POST', url: '/v1/configs/webhook', headers: key(t.keyB), payload: { url } })
    expect(onPrem.json()).toMatchObject({ url, headers: {}, meta: expect.any(Object) })
    const onPremBad = await t.app.inject({ method: 'POST', url: '/v1/configs/webhook', headers: key(t.keyB), payload: { url: 'ftp://x' } })
    expect(onPremBad.json()).toMatchObject({ errors: [{ code: expect.any(Number), details: expect.stringContaining('url') }] })
  })
})
