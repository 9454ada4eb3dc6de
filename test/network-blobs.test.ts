import fs from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { NetworkClient } from '../src/wire/client.js'
import { stalledRequest } from './helpers/stalled-request.js'
import { Harness, silent } from './network-harness.js'

let h: Harness
afterEach(async () => h?.close())

describe('network media blobs', () => {
  it('uploads and downloads blobs with the login credentials, across accounts', async () => {
    h = await Harness.start()
    const business = await h.register('1', '5550300', 'Blob Co')
    const phone = await h.register('1', '5550301')
    const uploader = await h.connect(business)
    const bytes = randomBytes(200_000)
    const blobId = await uploader.uploadBlob(bytes)
    expect(blobId).toMatch(/^[A-Za-z0-9_-]+$/)
    const downloader = await h.connect(phone)
    expect(Buffer.from(await downloader.downloadBlob(blobId))).toEqual(bytes)
    await expect(downloader.downloadBlob('nope')).rejects.toMatchObject({ code: 'not_found' })
  })

  it('refuses calls without valid credentials', async () => {
    h = await Harness.start()
    const phone = await h.register('1', '5550310')
    const anonymous = new NetworkClient({ url: h.server.wsUrl, logger: silent })
    await expect(anonymous.uploadBlob(new Uint8Array(3))).rejects.toMatchObject({ code: 'unauthorized' })
    const res = await fetch(`${h.server.url}/blobs`, {
      method: 'POST',
      headers: { authorization: 'Basic ' + Buffer.from(`${phone.waId}:wrong`).toString('base64') },
      body: new Uint8Array(3),
    })
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } })
  })

  it('expires blobs after the TTL and sweeps their files', async () => {
    h = await Harness.start({ blobTtlMs: 60_000 })
    const phone = await h.register('1', '5550320')
    const client = await h.connect(phone)
    const blobId = await client.uploadBlob(randomBytes(1000))
    const file = path.join(h.dataDir, 'blobs', blobId)
    expect(fs.existsSync(file)).toBe(true)
    h.clock.tick(59_999)
    expect((await client.downloadBlob(blobId)).byteLength).toBe(1000)
    h.clock.tick(1)
    await expect(client.downloadBlob(blobId)).rejects.toMatchObject({ code: 'not_found' })
    await h.server.sweep()
    expect(fs.existsSync(file)).toBe(false)
  })

  it('refuses blobs over the size limit and keeps no partial file', async () => {
    h = await Harness.start({ limits: { maxBlobBytes: 1024 } })
    const phone = await h.register('1', '5550330')
    const client = await h.connect(phone)
    await expect(client.uploadBlob(randomBytes(4096))).rejects.toMatchObject({ code: 'bad_request' })
    expect(fs.readdirSync(path.join(h.dataDir, 'blobs'))).toEqual([])
  })
  it('answers 408 to an upload that stalls in the middle of its body; the WebSocket of the same server stays up', async () => {
    h = await Harness.start({ httpTimeouts: { requestMs: 300, idleMs: 10_000 } })
    const phone = await h.register('1', '5550340')
    const client = await h.connect(phone)
    const port = Number(new URL(h.server.url).port)
    const auth = 'Basic ' + Buffer.from(`${phone.waId}:${phone.password}`).toString('base64')
    expect(await stalledRequest(port, '/blobs', 5_000, { authorization: auth })).toMatch(/^HTTP\/1\.1 408 /)
    // the request timeout passed: an upgraded connection is not an HTTP request
    expect(client.connected).toBe(true)
    expect(await client.uploadBlob(randomBytes(10))).toMatch(/^[A-Za-z0-9_-]+$/)
  })
})
