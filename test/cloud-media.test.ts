import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createCloudTest, graphError, type CloudTest } from './helpers/cloud.js'
import { describeEachDatabase } from './helpers/databases.js'

const KB = 1024
const MB = 1024 * KB
const jpeg = (size: number) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(size - 4)])
const gif = Buffer.concat([Buffer.from('GIF89a'), randomBytes(200)])
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

type Part = { name: string; value: string } | { name: string; filename: string; type?: string; data: Buffer }

/** A multipart/form-data body with its parts in the order given (Meta's curl example sends the file first). */
function form(parts: Part[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----wabox${randomBytes(8).toString('hex')}`
  const chunks: Buffer[] = []
  for (const p of parts) {
    const head = 'data' in p
      ? `Content-Disposition: form-data; name="${p.name}"; filename="${p.filename}"\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}`
      : `Content-Disposition: form-data; name="${p.name}"\r\n`
    chunks.push(Buffer.from(`--${boundary}\r\n${head}\r\n`), 'data' in p ? p.data : Buffer.from(p.value), Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

const file = (data: Buffer, type?: string, filename = 'photo.jpg'): Part => ({ name: 'file', filename, data, ...(type ? { type } : {}) })
const field = (name: string, value: string): Part => ({ name, value })

describeEachDatabase('Cloud API: media', (ctx) => {
  let t: CloudTest
  beforeAll(async () => {
    t = await createCloudTest(ctx())
  })
  afterAll(async () => t.close())

  const bearer = (token: string | null): Record<string, string> => (token === null ? {} : { authorization: `Bearer ${token}` })
  const upload = (parts: Part[], opts: { url?: string; token?: string | null } = {}) => {
    const body = form(parts)
    return t.app.inject({
      method: 'POST', url: opts.url ?? `/v23.0/${t.a.id}/media`, payload: body.payload,
      headers: { ...body.headers, ...bearer(opts.token === undefined ? t.token : opts.token) },
    })
  }
  const uploaded = async (parts: Part[], url?: string): Promise<string> => {
    const res = await upload(parts, url ? { url } : {})
    expect(res.statusCode, res.body).toBe(200)
    return (res.json() as { id: string }).id
  }
  const getMedia = (id: string, opts: { token?: string | null; query?: string; host?: string } = {}) => t.app.inject({
    method: 'GET', url: `/v23.0/${id}${opts.query ?? ''}`,
    headers: { ...bearer(opts.token === undefined ? t.token : opts.token), ...(opts.host ? { host: opts.host } : {}) },
  })
  /** The path and query of a media URL, to fetch it through inject. */
  const fetchUrl = (url: string, token: string | null = t.token) => {
    const u = new URL(url)
    return t.app.inject({ method: 'GET', url: u.pathname + u.search, headers: bearer(token) })
  }

  it('uploads with the fields after the file (Meta\'s curl order): {id}, stored with the type and the file name', async () => {
    const bytes = jpeg(200 * KB)
    const res = await upload([file(bytes, 'application/octet-stream', 'summer-sale.jpg'), field('type', 'image/jpeg'), field('messaging_product', 'whatsapp')])
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    const { id } = res.json() as { id: string }
    expect(Object.keys(res.json())).toEqual(['id'])
    expect(await t.store.media.get(id)).toMatchObject({
      phone_number_id: t.a.id, mime_type: 'image/jpeg', size: 200 * KB, sha256: sha256(bytes), filename: 'summer-sale.jpg', direction: 'out',
    })
  })

  it('takes messaging_product as a query parameter and the type from the file part when there is no type field', async () => {
    const bytes = jpeg(10 * KB)
    const id = await uploaded([file(bytes, 'image/jpeg')], `/${t.a.id}/media?messaging_product=whatsapp`)
    expect((await t.store.media.get(id))?.mime_type).toBe('image/jpeg')
    // the fields first, as the SDKs send them, the type checked while the bytes stream
    const first = await uploaded([field('messaging_product', 'whatsapp'), field('type', 'image/jpeg'), file(bytes, 'image/jpeg')])
    expect((await t.store.media.get(first))?.sha256).toBe(sha256(bytes))
  })

  it('refuses a bad upload with the Graph error naming the field and the rule, and keeps nothing of it', async () => {
    const tmp = path.join(t.media.root, 'tmp')
    const cases: [Part[], string | undefined, number, string][] = [
      [[file(jpeg(KB), 'image/jpeg')], undefined, 100, "Missing required parameter 'messaging_product'"],
      [[file(jpeg(KB), 'image/jpeg'), field('messaging_product', 'facebook')], undefined, 100, 'must be "whatsapp", got "facebook"'],
      [[field('messaging_product', 'whatsapp'), field('type', 'image/jpeg')], undefined, 100, "Missing required parameter 'file'"],
      [[file(jpeg(KB)), field('messaging_product', 'whatsapp')], undefined, 131053, "type: declared text/plain but the body is image/jpeg content (taken from the 'file' part's Content-Type"],
      [[file(jpeg(KB), 'image/jpeg'), field('messaging_product', 'whatsapp'), field('caption', 'x')], undefined, 100, "Unknown form field 'caption'"],
      [[{ name: 'media', filename: 'a.jpg', type: 'image/jpeg', data: jpeg(KB) }, field('messaging_product', 'whatsapp')], undefined, 100, "the part named 'file'"],
      [[file(jpeg(KB), 'image/png'), field('messaging_product', 'whatsapp')], undefined, 131053, 'type: declared image/png but the body is image/jpeg content'],
      [[file(gif, 'image/gif'), field('messaging_product', 'whatsapp')], undefined, 131053, "type: 'image/gif' is not a supported media type"],
      [[file(jpeg(6 * MB)), field('type', 'image/jpeg'), field('messaging_product', 'whatsapp')], undefined, 131053, 'file: Media of type image/jpeg may be at most 5 MB'],
      [[field('type', 'image/jpeg'), file(jpeg(6 * MB)), field('messaging_product', 'whatsapp')], undefined, 131053, 'may be at most 5 MB'],
      [[file(jpeg(KB), 'image/jpeg')], `/${t.a.id}/media?messaging_product=instagram`, 100, 'must be "whatsapp", got "instagram"'],
    ]
    for (const [parts, url, code, details] of cases) {
      const res = await upload(parts, url ? { url } : {})
      expect(res.statusCode, res.body).toBe(400)
      const error = graphError(res)
      expect(error.code, res.body).toBe(code)
      expect(error.message).toBe(code === 100 ? '(#100) Invalid parameter' : '(#131053) Media upload error')
      expect(error.error_data.details).toContain(details)
    }
    expect(fs.readdirSync(tmp)).toEqual([])

    const json = await t.app.inject({ method: 'POST', url: `/${t.a.id}/media`, headers: bearer(t.token), payload: { messaging_product: 'whatsapp' } })
    expect(graphError(json)).toMatchObject({ code: 100, error_data: { details: expect.stringContaining("multipart/form-data with a 'file' part; got 'application/json") } })
    const raw = await t.app.inject({ method: 'POST', url: `/${t.a.id}/media`, headers: { ...bearer(t.token), 'content-type': 'image/jpeg' }, payload: jpeg(KB) })
    expect(graphError(raw).error_data.details).toContain("got 'image/jpeg'")
  })

  it('uploads only to the Cloud numbers of the token\'s WABA', async () => {
    const parts = [file(jpeg(KB), 'image/jpeg'), field('messaging_product', 'whatsapp')]
    const other = await upload(parts, { url: `/${t.c.id}/media` })
    expect(graphError(other)).toMatchObject({ code: 100, error_subcode: 33 })
    const onPrem = await upload(parts, { url: `/${t.b.id}/media` })
    expect(graphError(onPrem).error_data.details).toContain('hosted On-Premises')
    const noToken = await upload(parts, { token: null })
    expect(noToken.statusCode).toBe(401)
    expect(graphError(noToken).code).toBe(190)
  })

  it('GET /{media_id} gives a 5-minute URL on the caller\'s host that downloads the bytes with the same token', async () => {
    const bytes = jpeg(150 * KB)
    const id = await uploaded([file(bytes, 'image/jpeg'), field('messaging_product', 'whatsapp')])
    const res = await getMedia(id, { host: 'wabox.example.test:8443', query: `?phone_number_id=${t.a.id}` })
    expect(res.statusCode, res.body).toBe(200)
    const body = res.json() as Record<string, string>
    expect(body).toEqual({ messaging_product: 'whatsapp', url: expect.any(String), mime_type: 'image/jpeg', sha256: sha256(bytes), file_size: String(150 * KB), id })
    const url = new URL(body.url!)
    expect(url.origin).toBe('http://wabox.example.test:8443')
    expect(url.pathname).toBe(`/v23.0/media/download/${id}`)
    expect(Number(url.searchParams.get('expires'))).toBe(Math.floor(t.db.clock.now() / 1000) + 300)

    const got = await fetchUrl(body.url!)
    expect(got.statusCode).toBe(200)
    expect(got.headers['content-type']).toBe('image/jpeg')
    expect(got.rawPayload.equals(bytes)).toBe(true)
    expect(sha256(got.rawPayload)).toBe(body.sha256)
    // another token of the same WABA may use it too, as Meta's URL takes any token that reaches the media
    expect((await fetchUrl(body.url!, t.messagingToken)).statusCode).toBe(200)

    const noToken = await fetchUrl(body.url!, null)
    expect(noToken.statusCode).toBe(401)
    expect(graphError(noToken).code).toBe(190)
    const otherWaba = await fetchUrl(body.url!, t.otherToken)
    expect(graphError(otherWaba)).toMatchObject({ code: 100, error_subcode: 33 })
    const forged = new URL(body.url!)
    forged.searchParams.set('expires', String(Number(forged.searchParams.get('expires')) + 3600))
    expect(graphError(await fetchUrl(forged.href)).error_data.details).toContain("'sig': it does not sign this media URL")

    t.db.clock.tick(5 * 60 * 1000)
    const late = await fetchUrl(body.url!)
    expect(late.statusCode).toBe(400)
    expect(graphError(late)).toMatchObject({ code: 100, error_data: { details: expect.stringContaining('The media URL expired') } })
    // a fresh URL works again
    const fresh = (await getMedia(id)).json() as { url: string }
    expect((await fetchUrl(fresh.url)).statusCode).toBe(200)
  })

  it('GET /{media_id} refuses another WABA and another phone_number_id; DELETE removes it, after which it is unknown', async () => {
    const id = await uploaded([file(jpeg(KB), 'image/jpeg'), field('messaging_product', 'whatsapp')])
    const other = await getMedia(id, { token: t.otherToken })
    expect(other.statusCode).toBe(400)
    expect(graphError(other)).toMatchObject({ code: 100, error_subcode: 33, error_data: { details: expect.stringContaining(`Object with ID '${id}' does not exist`) } })
    const wrongNumber = await getMedia(id, { query: `?phone_number_id=${t.b.id}` })
    expect(graphError(wrongNumber)).toMatchObject({ code: 100, error_data: { details: `Invalid value for query parameter 'phone_number_id': media ${id} does not belong to phone number ${t.b.id}` } })
    const url = ((await getMedia(id)).json() as { url: string }).url

    const otherDelete = await t.app.inject({ method: 'DELETE', url: `/v23.0/${id}`, headers: bearer(t.otherToken) })
    expect(graphError(otherDelete).code).toBe(100)
    const del = await t.app.inject({ method: 'DELETE', url: `/v23.0/${id}?phone_number_id=${t.a.id}`, headers: bearer(t.token) })
    expect(del.statusCode, del.body).toBe(200)
    expect(del.json()).toEqual({ success: true })
    expect(await t.store.media.get(id)).toBeUndefined()

    expect(graphError(await getMedia(id))).toMatchObject({ code: 100, error_subcode: 33 })
    expect(graphError(await fetchUrl(url))).toMatchObject({ code: 100, error_subcode: 33 })
    const again = await t.app.inject({ method: 'DELETE', url: `/${id}`, headers: bearer(t.token) })
    expect(graphError(again).error_data.details).toContain('Unsupported delete request')
  })

  it('DELETE /{media_id} with Content-Type: application/json and no body (as @great-detail/whatsapp sends it) deletes the media', async () => {
    const id = await uploaded([file(jpeg(KB), 'image/jpeg'), field('messaging_product', 'whatsapp')])
    const del = await t.app.inject({ method: 'DELETE', url: `/v23.0/${id}?phone_number_id=${t.a.id}`, headers: { ...bearer(t.token), 'content-type': 'application/json' } })
    expect(del.statusCode, del.body).toBe(200)
    expect(del.json()).toEqual({ success: true })
    expect(await t.store.media.get(id)).toBeUndefined()
  })

  it('resolves inbound media ids (media the CoreApp stored from phones) the same way', async () => {
    const voice = Buffer.concat([Buffer.from('OggS'), randomBytes(4000)])
    const stored = await t.media.put(voice, {
      phoneNumberId: t.a.id, mimeType: 'audio/ogg; codecs=opus', direction: 'in', validate: false, expiresAt: t.db.clock.now() + 7 * 24 * 3600 * 1000,
    })
    const res = await getMedia(stored.id)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ mime_type: 'audio/ogg; codecs=opus', sha256: sha256(voice), file_size: String(voice.length), id: stored.id })
    const got = await fetchUrl((res.json() as { url: string }).url)
    expect(got.rawPayload.equals(voice)).toBe(true)
  })

  it('serves a real client over HTTP: fetch with FormData uploads, the URL downloads over the same listener', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 })
    const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
    const bytes = jpeg(300 * KB)
    const data = new FormData()
    data.set('file', new Blob([bytes], { type: 'image/jpeg' }), 'a.jpg')
    const up = await fetch(`${base}/v21.0/${t.a.id}/media?messaging_product=whatsapp`, { method: 'POST', body: data, headers: bearer(t.token) })
    expect(up.status, await up.clone().text()).toBe(200)
    const { id } = (await up.json()) as { id: string }
    const info = (await (await fetch(`${base}/v21.0/${id}?phone_number_id=${t.a.id}`, { headers: bearer(t.token) })).json()) as { url: string; sha256: string }
    expect(info.url.startsWith(`${base}/v21.0/media/download/${id}?`)).toBe(true)
    const got = Buffer.from(await (await fetch(info.url, { headers: bearer(t.token) })).arrayBuffer())
    expect(sha256(got)).toBe(info.sha256)
    expect(got.equals(bytes)).toBe(true)

    // refused before its file was read: the connection is not reused, and the next request is served
    const bad = new FormData()
    bad.set('caption', 'x')
    bad.set('file', new Blob([jpeg(MB)], { type: 'image/jpeg' }), 'a.jpg')
    const refused = await fetch(`${base}/${t.a.id}/media?messaging_product=whatsapp`, { method: 'POST', body: bad, headers: bearer(t.token) })
    expect(refused.status).toBe(400)
    expect(refused.headers.get('connection')).toBe('close')
    const refusal = (await refused.json()) as { error: { code: number; error_data: { details: string } } }
    expect(refusal.error).toMatchObject({ code: 100, error_data: { details: expect.stringContaining("Unknown form field 'caption'") } })
    expect((await fetch(`${base}/${id}`, { headers: bearer(t.token) })).status).toBe(200)
  })
})
