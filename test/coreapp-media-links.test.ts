import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Phone } from '../src/phones/phone.js'
import { BUSINESS, startHarness, statusesOf, waitFor, type Harness } from './coreapp-harness.js'
import { DIALECTS } from './helpers/databases.js'

const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), randomBytes(200)])
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(300)])
/** Over the 5 MB an image may have. */
const LARGE_PNG = Buffer.concat([PNG, Buffer.alloc(5 * 1024 * 1024)])

/** Link media whose answers a test holds back, mislabels or oversizes. */
async function startMediaHost() {
  const held: http.ServerResponse[] = []
  const server = http.createServer((req, res) => {
    if (req.url === '/held.png') {
      held.push(res)
      server.emit('held')
      return
    }
    if (req.url === '/untyped.png') return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(PNG)
    if (req.url === '/doc.pdf') return void res.writeHead(200, { 'content-type': 'application/pdf' }).end(PDF)
    // no Content-Length: the size shows only while reading
    if (req.url === '/large.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(LARGE_PNG)
    res.writeHead(404).end()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Resolves once a request for the held file arrived. */
    requested: () => (held.length > 0 ? Promise.resolve() : once(server, 'held').then(() => undefined)),
    release: () => held.splice(0).forEach((res) => res.writeHead(200, { 'content-type': 'image/png' }).end(PNG)),
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}

for (const dialect of DIALECTS) {
  describe(`CoreApp media links [${dialect}]`, () => {
    let h: Harness
    let host: Awaited<ReturnType<typeof startMediaHost>>
    let a: Phone
    let b: Phone

    beforeAll(async () => {
      // a download deadline far above what the tests wait: a held link never fails on its own here
      h = await startHarness(dialect, { phones: 2, tuning: { mediaDownloadTimeoutMs: 60_000 } })
      host = await startMediaHost()
      ;[a, b] = [h.phones[0]!, h.phones[1]!]
      for (const p of [a, b]) await p.send({ to: BUSINESS.waId, type: 'text', text: 'hi' })
      await waitFor(async () => (await h.callbacks()).filter((e) => e.type === 'message').length === 2, 'both windows open')
    })
    afterAll(async () => {
      await host?.close()
      await h?.cleanup()
    })

    const arrived = (p: Phone, id: string) => waitFor(async () => (await p.inbox()).find((m) => m.id === id), `${id} on the phone`)

    it('sends to other recipients while a link downloads, and the recipient of the link gets its messages in order', async () => {
      const image = await h.queue({ to: a.waId, type: 'image', image: { link: `${host.url}/held.png` } })
      await host.requested()
      const after = await h.queue({ to: a.waId, type: 'text', text: { body: 'see the picture above' } })
      const other = await h.queue({ to: b.waId, type: 'text', text: { body: 'meanwhile' } })
      // the download is still held: the other recipient does not wait for it
      await arrived(b, other)
      expect((await a.inbox()).map((m) => m.id)).not.toContain(image)
      host.release()
      await arrived(a, after)
      const ids = (await a.inbox()).map((m) => m.id)
      expect(ids.indexOf(image)).toBeGreaterThanOrEqual(0)
      expect(ids.indexOf(image)).toBeLessThan(ids.indexOf(after))
    })

    it('checks a downloaded link as an uploaded file is checked: its type for the message, its size for that type', async () => {
      const failure = async (id: string) => (await waitFor(async () => statusesOf(await h.callbacks(), id).find((s) => s.status === 'failed'), `failure of ${id}`)).errors?.[0]
      const pdfAsImage = await h.queue({ to: a.waId, type: 'image', image: { link: `${host.url}/doc.pdf` } })
      expect(await failure(pdfAsImage)).toMatchObject({ cloud_code: 131053, details: expect.stringContaining('cannot be sent as image') })
      const large = await h.queue({ to: a.waId, type: 'image', image: { link: `${host.url}/large.png` } })
      expect(await failure(large)).toMatchObject({ cloud_code: 131053, details: expect.stringContaining('limited to 5 MB') })
      // a host that names no type: the bytes say what it is
      const untyped = await h.queue({ to: a.waId, type: 'image', image: { link: `${host.url}/untyped.png` } })
      expect((await arrived(a, untyped)).content).toMatchObject({ type: 'image', media: { mimeType: 'image/png' } })
      // any file may go as a document, within the document limit: the 5 MB image too
      const largeDoc = await h.queue({ to: a.waId, type: 'document', document: { link: `${host.url}/large.png` } })
      expect((await arrived(a, largeDoc)).content).toMatchObject({ type: 'document', media: { mimeType: 'image/png' } })
      // a PDF is a document, by link as by id
      const doc = await h.queue({ to: a.waId, type: 'document', document: { link: `${host.url}/doc.pdf` } })
      expect((await arrived(a, doc)).content).toMatchObject({ type: 'document', media: { mimeType: 'application/pdf' } })
    })
  })
}
