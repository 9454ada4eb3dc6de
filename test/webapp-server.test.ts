import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import { Registry } from 'prom-client'
import { generate } from 'selfsigned'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemClock } from '../src/clock.js'
import { MediaVolume } from '../src/media/volume.js'
import { createTestDatabase, type TestDatabase } from './helpers/databases.js'
import { stalledRequest } from './helpers/stalled-request.js'
import { ADMIN_PASSWORD, basic, FakeBridge, startWebServer, VERSION, type WebServer } from './helpers/webapp.js'

/** The certificate a TLS server presents, read from a fresh connection. */
function peerCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerX509Certificate()
      socket.end()
      if (raw) resolve(raw)
      else reject(new Error('no peer certificate'))
    })
    socket.on('error', reject)
  })
}

describe('startWebServer', () => {
  let db: TestDatabase
  let dataDir: string
  let server: WebServer | undefined
  beforeAll(async () => {
    db = await createTestDatabase('sqlite')
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-web-'))
  })
  afterAll(async () => {
    await server?.close()
    await db.cleanup()
    fs.rmSync(dataDir, { recursive: true, force: true })
  })

  const deps = () => ({
    store: db.store, clock: systemClock, bridge: new FakeBridge(db.store), version: VERSION, registry: new Registry(), dataDir,
    media: new MediaVolume({ root: path.join(dataDir, 'media'), key: Buffer.alloc(32, 3), store: db.store }),
  })

  it('serves HTTPS with a self-signed certificate generated into the data dir, and swaps in an uploaded one', async () => {
    server = await startWebServer({ ...deps(), host: '127.0.0.1', port: 0 })
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const ca = fs.readFileSync(path.join(dataDir, 'tls', 'ca.pem'), 'utf8')
    const dispatcher = new Agent({ connect: { ca } })
    try {
      // trusting the generated CA is enough: the certificate names 127.0.0.1
      const login = await request(`${server.url}/v1/users/login`, {
        method: 'POST', dispatcher, headers: { authorization: basic('admin', 'secret'), 'content-type': 'application/json' },
        body: JSON.stringify({ new_password: ADMIN_PASSWORD }),
      })
      expect(login.statusCode).toBe(200)
      const token = ((await login.body.json()) as { users: [{ token: string }] }).users[0].token

      const pems = await generate([{ name: 'commonName', value: 'replaced.example' }], { keyType: 'ec', algorithm: 'sha256' })
      const upload = await request(`${server.url}/v1/certificates/external`, {
        method: 'POST', dispatcher, headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body: `${pems.private}\n${pems.cert}`,
      })
      expect(upload.statusCode).toBe(200)
      await upload.body.dump()
      const presented = await peerCertificate(server.port)
      expect(presented.subject).toContain('CN=replaced.example')
      expect(fs.readFileSync(path.join(dataDir, 'tls', 'cert.pem'), 'utf8')).toContain(pems.cert.trim())
    } finally {
      await dispatcher.close()
      await server.close()
      server = undefined
    }
    // the next start reuses the stored certificate
    server = await startWebServer({ ...deps(), host: '127.0.0.1', port: 0 })
    expect((await peerCertificate(server.port)).subject).toContain('CN=replaced.example')
    await server.close()
    server = undefined
  })

  it('answers malformed framing over TLS with the On-Prem envelope', async () => {
    server = await startWebServer({ ...deps(), host: '127.0.0.1', port: 0 })
    try {
      const raw = await new Promise<string>((resolve, reject) => {
        let out = ''
        const socket = tls.connect({ host: '127.0.0.1', port: server!.port, rejectUnauthorized: false }, () => socket.write('FOO / HTTP/1.1\r\nHost: x\r\n\r\n'))
        socket.on('data', (d: Buffer) => (out += d.toString()))
        socket.on('close', () => resolve(out))
        socket.on('error', reject)
      })
      expect(raw).toMatch(/^HTTP\/1\.1 400 /)
      expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ meta: { version: VERSION }, errors: [{ code: 1025 }] })
    } finally {
      await server.close()
      server = undefined
    }
  })

  it('serves plain HTTP with http: true, and answers a rejected upload before reading all of it', async () => {
    server = await startWebServer({ ...deps(), host: '127.0.0.1', port: 0, http: true })
    expect(server.url).toMatch(/^http:\/\//)
    const res = await request(`${server.url}/v1/health`)
    expect(res.statusCode).toBe(401)
    expect(((await res.body.json()) as { errors: { code: number }[] }).errors[0]?.code).toBe(1005)

    const n = await db.store.numbers.create({ id: 'srv1', cc: '1', number: '5550100', displayName: 'srv' })
    const key = await db.store.apiKeys.create(n.id, 'd360', 'srv')
    // JPEG bytes declared as PNG, 20 MB: rejected from the first bytes
    const body = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(20 * 1024 * 1024)])
    const upload = await request(`${server.url}/v1/media`, { method: 'POST', headers: { 'd360-api-key': key, 'content-type': 'image/png' }, body })
    expect(upload.statusCode).toBe(400)
    expect(((await upload.body.json()) as { errors: { code: number; details: string }[] }).errors[0]).toMatchObject({ code: 1009 })
    const ok = await request(`${server.url}/v1/media`, { method: 'POST', headers: { 'd360-api-key': key, 'content-type': 'application/pdf' }, body: '%PDF-1.4 tiny' })
    expect(ok.statusCode).toBe(201)
    await ok.body.dump()
    await server.close()
    server = undefined
  })
  it('answers 408 to a client that stalls in the middle of its body, and closes the connection', async () => {
    server = await startWebServer({ ...deps(), host: '127.0.0.1', port: 0, http: true, limits: { requestTimeoutMs: 300 } })
    try {
      const n = await db.store.numbers.create({ id: 'srv2', cc: '1', number: '5550101', displayName: 'srv' })
      const key = await db.store.apiKeys.create(n.id, 'd360', 'srv')
      const answer = await stalledRequest(server.port, '/v1/media', 5_000, { 'd360-api-key': key, 'content-type': 'application/pdf' })
      expect(answer).toMatch(/^HTTP\/1\.1 408 /)
    } finally {
      await server.close()
      server = undefined
    }
  })
})
