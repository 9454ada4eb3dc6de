import { createCipheriv, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { Writable } from 'node:stream'
import { encode } from '@msgpack/msgpack'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import type { Content } from '../src/wire/content.js'
import type { EnvelopePush } from '../src/wire/frames.js'
import { Harness, nextEvent } from './network-harness.js'

let h: Harness
afterEach(async () => h?.close())

/** Stands in for Signal: the test alone holds the key, the network only sees the output. */
const key = randomBytes(32)
function seal(plaintext: Uint8Array): Uint8Array {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
}

function content(marker: string): Uint8Array {
  const message: Content = { kind: 'message', id: `wamid.${marker}`, sentAt: 0, profileName: marker, type: 'text', text: { body: `${marker} secret body` } }
  return encode(message)
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]))
}

describe('network storage holds no plaintext', () => {
  it('stores only ciphertext: no marker in the SQLite file, its WAL, the blobs or the log', async () => {
    let log = ''
    const logger = pino({ level: 'debug' }, new Writable({ write: (chunk, _enc, done) => ((log += String(chunk)), done()) }))
    h = await Harness.start({ logger })
    const markers = Array.from({ length: 4 }, (_, i) => `PLAINTEXT-MARKER-${i}-${randomBytes(4).toString('hex')}`)
    const business = await h.register('1', '5550600', 'Secret Co')
    const phone = await h.register('1', '5550601')
    const biz = await h.connect(business)
    const ph = await h.connect(phone)

    // Delivered online and acked, stored for an offline recipient, and a media blob.
    const arrived = nextEvent<EnvelopePush>(biz, 'envelope')
    await ph.request({ t: 'envelope.send', envelopeId: 'm0', to: business.waId, kind: 'prekey', body: seal(content(markers[0]!)) })
    await biz.request({ t: 'envelope.ack', envelopeIds: [(await arrived).envelopeId] })
    await ph.close()
    const stored = seal(content(markers[1]!))
    await biz.request({ t: 'envelope.send', envelopeId: 'm1', to: phone.waId, kind: 'message', body: stored })
    await biz.request({ t: 'envelope.send', envelopeId: 'm2', to: phone.waId, kind: 'message', body: seal(content(markers[2]!)) })
    const blob = seal(Buffer.from(`${markers[3]} image bytes`))
    const blobId = await biz.uploadBlob(blob)
    await biz.request({ t: 'receipt.send', to: phone.waId, kind: 'read', envelopeIds: ['m0'] })

    const scan = () => {
      const files = filesUnder(h.dataDir)
      expect(files.map((f) => path.basename(f))).toEqual(expect.arrayContaining(['network.sqlite', blobId]))
      const everything = Buffer.concat(files.map((f) => fs.readFileSync(f)))
      // The scan sees what the server stored: the undelivered ciphertext and the blob are there...
      expect(everything.includes(Buffer.from(stored))).toBe(true)
      expect(everything.includes(Buffer.from(blob))).toBe(true)
      // ...and no plaintext is.
      for (const marker of markers) {
        expect(everything.includes(Buffer.from(marker)), marker).toBe(false)
        expect(log.includes(marker), marker).toBe(false)
      }
    }
    expect(fs.existsSync(path.join(h.dataDir, 'network.sqlite-wal'))).toBe(true)
    scan() // live: database + WAL
    await h.server.close()
    scan() // after shutdown checkpointed the WAL
  })
})
