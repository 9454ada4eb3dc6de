import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Housekeeper } from '../src/coreapp/housekeeping.js'
import { WaboxError } from '../src/errors/index.js'
import { checkMedia, parseMime } from '../src/media/limits.js'
import { downloadLink } from '../src/media/link.js'
import { deriveMediaKey } from '../src/media/sealed-stream.js'
import { MediaVolume } from '../src/media/volume.js'
import { describeEachDatabase } from './helpers/databases.js'
import { call, createWebTest, firstError, type WebTest } from './helpers/webapp.js'

const KB = 1024
const MB = 1024 * KB
const UPLOAD_TTL_MS = 30 * 24 * 3600 * 1000
const jpeg = (size: number) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(size - 4)])
const png = (size: number) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(size - 8)])
function webp(size: number, animated: boolean): Buffer {
  const head = Buffer.alloc(30)
  head.write('RIFF', 0)
  head.writeUInt32LE(size - 8, 4)
  head.write('WEBP', 8)
  head.write(animated ? 'VP8X' : 'VP8 ', 12)
  head[20] = animated ? 0x02 : 0
  return Buffer.concat([head, randomBytes(size - 30)])
}
const pdf = Buffer.from('%PDF-1.7\n1 0 obj << >> endobj\ntrailer\n%%EOF\n')

describeEachDatabase('webapp media', (ctx) => {
  let t: WebTest
  beforeAll(async () => {
    t = await createWebTest(ctx())
  })
  afterAll(async () => t.close())

  const upload = (type: string | undefined, body: Buffer, key = t.keyA) =>
    call(t.app, { d360: key }, { method: 'POST', url: '/v1/media', headers: type ? { 'content-type': type } : {}, payload: body })
  const download = (id: string, key = t.keyA) => call(t.app, { d360: key }, { method: 'GET', url: `/v1/media/${id}` })

  it('round-trips uploads: 201 with a UUID, same bytes and type back, sha256 recorded, encrypted on disk', async () => {
    const bytes = jpeg(300 * KB)
    const up = await upload('image/jpeg', bytes)
    expect(up.statusCode).toBe(201)
    const id = up.json().media[0].id as string
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    const got = await download(id)
    expect(got.statusCode).toBe(200)
    expect(got.headers['content-type']).toBe('image/jpeg')
    expect(Number(got.headers['content-length'])).toBe(bytes.length)
    expect(got.rawPayload.equals(bytes)).toBe(true)

    const row = await t.store.media.get(id)
    expect(row).toMatchObject({ phone_number_id: t.a.id, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), direction: 'out' })
    const onDisk = fs.readFileSync(path.join(t.media.root, row!.file))
    expect(onDisk.includes(bytes.subarray(0, 64))).toBe(false)
    expect(onDisk.length).toBeGreaterThan(bytes.length)
  })

  it('keeps the opus codec of audio/ogg and serves documents with their type', async () => {
    const ogg = await upload('audio/ogg; codecs=opus', Buffer.concat([Buffer.from('OggS'), randomBytes(500)]))
    expect((await download(ogg.json().media[0].id)).headers['content-type']).toBe('audio/ogg; codecs=opus')
    const vorbis = await upload('audio/ogg; codecs=vorbis', Buffer.concat([Buffer.from('OggS'), randomBytes(500)]))
    expect(firstError(vorbis).details).toContain('codecs=opus')
    const doc = await upload('application/pdf', pdf)
    expect((await download(doc.json().media[0].id)).headers['content-type']).toBe('application/pdf')
  })

  it('rejects content that does not match the declared type (1009)', async () => {
    const cases: [string, Buffer, string][] = [
      ['image/jpeg', png(1000), 'image/png content'],
      ['image/png', Buffer.from('just some text here'), 'unrecognised'],
      ['application/pdf', jpeg(1000), 'image/jpeg content'],
      ['text/plain', png(1000), 'image/png'],
      ['video/mp4', jpeg(1000), 'image/jpeg content'],
    ]
    for (const [type, body, detail] of cases) {
      const res = await upload(type, body)
      expect(res.statusCode, type).toBe(400)
      expect(firstError(res), type).toMatchObject({ code: 1009, title: 'Parameter value is not valid' })
      expect(firstError(res).details).toContain(detail)
    }
    expect((await upload('application/pdf', Buffer.from('%PDF-1.4 tiny'))).statusCode).toBe(201)
    expect((await upload('text/plain', Buffer.from('hello world'))).statusCode).toBe(201)
  })

  it('applies the per-type size limits (413 / 1009)', async () => {
    const big = await upload('image/png', png(5 * MB + 1))
    expect(big.statusCode).toBe(413)
    expect(firstError(big)).toMatchObject({ code: 1009 })
    expect(firstError(big).details).toContain('5 MB')
    expect((await upload('image/png', png(5 * MB))).statusCode).toBe(201)
    expect((await upload('image/webp', webp(100 * KB, false))).statusCode).toBe(201)
    expect(firstError(await upload('image/webp', webp(100 * KB + 1, false))).details).toContain('100 KB')
    expect((await upload('image/webp', webp(400 * KB, true))).statusCode).toBe(201)
    expect(firstError(await upload('image/webp', webp(500 * KB + 1, true))).details).toContain('500 KB')
    // nothing of the rejected uploads is left behind
    expect(fs.readdirSync(path.join(t.media.root, 'tmp'))).toEqual([])
  })

  it('needs a Content-Type and a body (1008)', async () => {
    const noType = await upload(undefined, png(100))
    expect(firstError(noType)).toMatchObject({ code: 1008 })
    expect(firstError(noType).details).toContain('Content-Type')
    const empty = await upload('image/png', Buffer.alloc(0))
    expect(firstError(empty)).toMatchObject({ code: 1008 })
  })

  it('answers an unknown or foreign id with a bare 404 and deletes media', async () => {
    const missing = await download('00000000-0000-0000-0000-000000000000')
    expect(missing.statusCode).toBe(404)
    expect(missing.body).toBe('')
    const id = (await upload('image/png', png(1000))).json().media[0].id as string
    expect((await download(id, t.keyB)).statusCode).toBe(404)
    const row = await t.store.media.get(id)
    const del = await call(t.app, { d360: t.keyA }, { method: 'DELETE', url: `/v1/media/${id}` })
    expect(del.statusCode).toBe(200)
    expect(fs.existsSync(path.join(t.media.root, row!.file))).toBe(false)
    expect((await download(id)).statusCode).toBe(404)
    const again = await call(t.app, { d360: t.keyA }, { method: 'DELETE', url: `/v1/media/${id}` })
    expect(firstError(again)).toMatchObject({ code: 1006 })
  })

  it('profile photo: upload, download, link, delete', async () => {
    const photo = jpeg(2000)
    const res = await call(t.app, { d360: t.keyB }, { method: 'POST', url: '/v1/settings/profile/photo', headers: { 'content-type': 'image/jpeg' }, payload: photo })
    expect(res.statusCode).toBe(200)
    const got = await call(t.app, { d360: t.keyB }, { method: 'GET', url: '/v1/settings/profile/photo' })
    expect(got.headers['content-type']).toBe('image/jpeg')
    expect(got.rawPayload.equals(photo)).toBe(true)
    const link = (await call(t.app, { d360: t.keyB }, { method: 'GET', url: '/v1/settings/profile/photo?format=link' })).json().settings.profile.photo.link as string
    expect(link).toMatch(/\/v1\/media\/[0-9a-f-]{36}$/)
    expect((await call(t.app, { d360: t.keyB }, { method: 'GET', url: new URL(link).pathname })).rawPayload.equals(photo)).toBe(true)
    expect((await call(t.app, { d360: t.keyA }, { method: 'GET', url: '/v1/settings/profile/photo' })).statusCode).toBe(404)
    const notImage = await call(t.app, { d360: t.keyB }, { method: 'POST', url: '/v1/settings/profile/photo', headers: { 'content-type': 'application/pdf' }, payload: pdf })
    expect(firstError(notImage)).toMatchObject({ code: 1009 })
    expect((await call(t.app, { d360: t.keyB }, { method: 'DELETE', url: '/v1/settings/profile/photo' })).statusCode).toBe(200)
    expect((await call(t.app, { d360: t.keyB }, { method: 'GET', url: '/v1/settings/profile/photo' })).statusCode).toBe(404)
  })

  // last in this suite: it moves the clock 30 days on
  it('expires uploads 30 days after upload: refused from then on, then purged with their file; the profile photo stays', async () => {
    const id = (await upload('image/png', png(1000))).json().media[0].id as string
    const file = path.join(t.media.root, (await t.store.media.get(id))!.file)
    const photo = jpeg(2000)
    await call(t.app, { d360: t.keyB }, { method: 'POST', url: '/v1/settings/profile/photo', headers: { 'content-type': 'image/jpeg' }, payload: photo })
    ctx().clock.tick(UPLOAD_TTL_MS - 1)
    expect((await download(id)).statusCode).toBe(200)
    ctx().clock.tick(1)
    expect((await download(id)).statusCode).toBe(404)
    const sent = await call(t.app, { d360: t.keyA }, { method: 'POST', url: '/v1/messages', payload: { to: '15550009', type: 'image', image: { id } } })
    expect(firstError(sent)).toMatchObject({ code: 1006 })

    const keeper = new Housekeeper({ store: t.store, media: t.media, clock: ctx().clock, logger: pino({ level: 'silent' }) })
    expect((await keeper.runOnce()).media).toBeGreaterThanOrEqual(1)
    expect(await t.store.media.get(id)).toBeUndefined()
    expect(fs.existsSync(file)).toBe(false)
    expect((await call(t.app, { d360: t.keyB }, { method: 'GET', url: '/v1/settings/profile/photo' })).rawPayload.equals(photo)).toBe(true)
  })
})

describeEachDatabase('media volume', (ctx) => {
  let volume: MediaVolume
  beforeAll(async () => {
    await ctx().store.numbers.create({ id: 'n1', cc: '1', number: '5550001', displayName: 'n1' })
    volume = new MediaVolume({ root: path.join(ctx().dir, 'volume'), key: deriveMediaKey(randomBytes(32)), store: ctx().store })
  })

  it('round-trips large files through many encrypted segments', async () => {
    const bytes = randomBytes(1 * MB + 12_345)
    const chunks = Array.from({ length: 40 }, (_, i) => bytes.subarray(Math.floor((i * bytes.length) / 40), Math.floor(((i + 1) * bytes.length) / 40)))
    async function* source() {
      yield* chunks
    }
    const stored = await volume.put(source(), { phoneNumberId: 'n1', mimeType: 'application/octet-stream' })
    expect(stored.size).toBe(bytes.length)
    expect((await volume.read(stored.id))?.equals(bytes)).toBe(true)
  })

  it('detects tampering and truncation', async () => {
    const stored = await volume.put(randomBytes(200 * KB), { phoneNumberId: 'n1', mimeType: 'application/octet-stream' })
    const file = path.join(volume.root, (await ctx().store.media.get(stored.id))!.file)
    const original = fs.readFileSync(file)
    const flipped = Buffer.from(original)
    flipped[100_000] = (flipped[100_000] ?? 0) ^ 1
    fs.writeFileSync(file, flipped)
    await expect(volume.read(stored.id)).rejects.toThrow(/tampered/)
    // cut exactly at a segment boundary: every remaining segment is intact, the end is missing
    fs.writeFileSync(file, original.subarray(0, 21 + 2 * (64 * KB + 16)))
    await expect(volume.read(stored.id)).rejects.toThrow(/tampered|truncated/)
    fs.writeFileSync(file, original)
    expect((await volume.read(stored.id))?.length).toBe(200 * KB)
  })

  it('fails the read, not the process, when the file cannot be read', async () => {
    const stored = await volume.put(randomBytes(10 * KB), { phoneNumberId: 'n1', mimeType: 'application/octet-stream' })
    const file = path.join(volume.root, (await ctx().store.media.get(stored.id))!.file)
    // a directory where the file was: it opens, and its first read fails (EISDIR), as a disk fault would
    fs.rmSync(file)
    fs.mkdirSync(file)
    await expect(volume.read(stored.id)).rejects.toThrow(/EISDIR/)
    fs.rmdirSync(file)
  })

  it('stores anything when validation is off (inbound media) and encrypts empty files', async () => {
    const odd = await volume.put(Buffer.from('not really an image'), { phoneNumberId: 'n1', mimeType: 'image/jpeg', validate: false, direction: 'in' })
    expect((await volume.read(odd.id))?.toString()).toBe('not really an image')
    const empty = await volume.put(Buffer.alloc(0), { phoneNumberId: 'n1', mimeType: 'text/plain', validate: false })
    expect((await volume.read(empty.id))?.length).toBe(0)
    expect(await volume.delete(empty.id)).toBe(true)
    expect(await volume.get(empty.id)).toBeUndefined()
  })
})

describeEachDatabase('link downloads', (ctx) => {
  let volume: MediaVolume
  let server: http.Server
  let base: string
  const image = png(3000)
  beforeAll(async () => {
    await ctx().store.numbers.create({ id: 'n2', cc: '1', number: '5550002', displayName: 'n2' })
    volume = new MediaVolume({ root: path.join(ctx().dir, 'volume2'), key: randomBytes(32), store: ctx().store })
    server = http.createServer((req, res) => {
      if (req.url === '/private/cat.png' && req.headers.authorization !== 'Bearer s3cret') return res.writeHead(401).end()
      if (req.url?.endsWith('cat.png')) return res.writeHead(200, { 'content-type': 'image/png' }).end(image)
      if (req.url === '/fake.png') return res.writeHead(200, { 'content-type': 'image/png' }).end('<html>not an image</html>')
      res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
  })

  it('fetches link media with the provider\'s credentials onto the volume', async () => {
    const stored = await downloadLink(volume, `${base}/private/cat.png`, {
      phoneNumberId: 'n2', provider: { name: 'cdn', type: 'www', config: { bearer: 's3cret' } },
    })
    expect(stored).toMatchObject({ mimeType: 'image/png', size: image.length, filename: 'cat.png' })
    expect((await volume.read(stored.id))?.equals(image)).toBe(true)
  })

  it('fails with 400 "Media download error" on HTTP errors and on content that is not what it claims', async () => {
    const denied = downloadLink(volume, `${base}/private/cat.png`, { phoneNumberId: 'n2' })
    await expect(denied).rejects.toMatchObject({ code: 400, details: expect.stringContaining('HTTP 401') })
    await expect(downloadLink(volume, `${base}/missing.png`, { phoneNumberId: 'n2' })).rejects.toMatchObject({ code: 400 })
    await expect(downloadLink(volume, `${base}/fake.png`, { phoneNumberId: 'n2' })).rejects.toMatchObject({ code: 400, details: expect.stringContaining('image/png') })
  })
})

describe('checkMedia', () => {
  it('classifies by declared type and verifies the magic bytes', () => {
    expect(checkMedia(parseMime('image/jpeg')!, jpeg(100))).toMatchObject({ category: 'image', maxBytes: 5 * MB })
    expect(checkMedia(parseMime('video/mp4')!, Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypisom'), Buffer.alloc(20)])))
      .toMatchObject({ category: 'video', maxBytes: 16 * MB })
    expect(checkMedia(parseMime('application/vnd.openxmlformats-officedocument.wordprocessingml.document')!, Buffer.from('PK\x03\x04rest')).category).toBe('document')
    expect(() => checkMedia(parseMime('application/msword')!, Buffer.from('PK\x03\x04rest'))).toThrow(WaboxError)
    expect(parseMime('not a type')).toBeUndefined()
  })
})
