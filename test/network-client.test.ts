import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { encode } from '@msgpack/msgpack'
import { afterEach, describe, expect, it, vi } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { KeyDirectory } from '../src/network/keys.js'
import { NetworkClient } from '../src/wire/client.js'
import { decodeClientFrame, decodeServerFrame, encodeFrame, MAX_ENVELOPE_BODY_BYTES } from '../src/wire/codec.js'
import { CloseCode, type Ack, type EnvelopePush, type EnvelopeSendResult } from '../src/wire/frames.js'
import { startFreezableProxy } from './helpers/freezable-proxy.js'
import { Harness, nextEvent, silent } from './network-harness.js'

let h: Harness
afterEach(async () => h?.close())

async function closeCodeAfterSending(url: string, data: Buffer | string): Promise<number> {
  const ws = new WebSocket(url)
  await once(ws, 'open')
  ws.send(data)
  const [code] = (await once(ws, 'close')) as [number]
  return code
}

describe('network client and connection lifecycle', () => {
  it('reconnects after a restart, logs in again and resends requests made while down', async () => {
    h = await Harness.start()
    const business = await h.register('1', '5550700', 'Client Co')
    const phone = await h.register('1', '5550701')
    const biz = await h.connect(business, { reconnect: true })
    const ph = await h.connect(phone, { reconnect: true })
    const shutdown = nextEvent<number>(ph, 'disconnected')
    let pending: Promise<EnvelopeSendResult> | undefined
    const bizBack = nextEvent<void>(biz, 'connected')
    const phBack = nextEvent<void>(ph, 'connected')
    await h.restart(() => {
      pending = ph.request<EnvelopeSendResult>({ t: 'envelope.send', envelopeId: 'while-down', to: business.waId, kind: 'message', body: new Uint8Array(4) })
    })
    expect(await shutdown).toBe(CloseCode.SHUTDOWN)
    const arrived = nextEvent<EnvelopePush>(biz, 'envelope')
    await Promise.all([bizBack, phBack])
    expect(await pending).toMatchObject({ duplicate: false })
    expect((await arrived).envelopeId).toBe('while-down')
    expect(biz.connected && ph.connected).toBe(true)
  })

  it('connects again when its login after a reconnect fails on the server, instead of waiting there forever', async () => {
    h = await Harness.start()
    const phone = await h.register('1', '5550702')
    const ph = await h.connect(phone, { reconnect: true })
    let failures = 0
    // the server's first login read after its restart fails, as a database hiccup would
    const count = vi.spyOn(KeyDirectory.prototype, 'preKeysLeft').mockImplementationOnce(() => {
      failures++
      return Promise.reject(new Error('disk I/O error'))
    })
    try {
      const back = nextEvent<void>(ph, 'connected')
      await h.restart()
      await back
      expect(failures).toBe(1)
      await expect(ph.request({ t: 'contacts.check', phones: [phone.waId] })).resolves.toBeDefined()
    } finally {
      count.mockRestore()
    }
  })

  it('closes connections that send undecodable or text frames with PROTOCOL_ERROR', async () => {
    h = await Harness.start()
    expect(await closeCodeAfterSending(h.server.wsUrl, Buffer.from([0xc1, 0x00]))).toBe(CloseCode.PROTOCOL_ERROR)
    expect(await closeCodeAfterSending(h.server.wsUrl, '{"t":"login"}')).toBe(CloseCode.PROTOCOL_ERROR)
    // The close reason quotes the bad type: it must still fit a close frame.
    const longType = Buffer.from(encode({ v: 1, id: 'r', t: 'ü'.repeat(500) }))
    expect(await closeCodeAfterSending(h.server.wsUrl, longType)).toBe(CloseCode.PROTOCOL_ERROR)
  })

  it('refuses a request with a bad or over-limit field alone, with bad_request or too_large, and keeps the connection', async () => {
    h = await Harness.start()
    const ws = new WebSocket(h.server.wsUrl)
    await once(ws, 'open')
    const acks: Ack[] = []
    ws.on('message', (data: Buffer) => acks.push(decodeServerFrame(data) as Ack))
    const envelope = { v: 1, t: 'envelope.send', envelopeId: 'e', to: '15550001', kind: 'message' }
    ws.send(encode({ ...envelope, id: 'wrong-type', body: 'text' }))
    ws.send(encode({ ...envelope, id: 'too-big', body: new Uint8Array(MAX_ENVELOPE_BODY_BYTES + 1) }))
    ws.send(encode({ v: 1, id: 'after', t: 'templates.get' }))
    while (acks.length < 3) await once(ws, 'message')
    expect(acks.map((a) => [a.id, a.error?.code])).toEqual([['wrong-type', 'bad_request'], ['too-big', 'too_large'], ['after', 'unauthorized']])
    expect(acks[0]!.error?.message).toContain('body')
    expect(acks[1]!.error?.message).toContain(`over the limit of ${MAX_ENVELOPE_BODY_BYTES} bytes`)
    expect(ws.readyState).toBe(WebSocket.OPEN)
    ws.close()
  })

  it('drops connections that stop answering keep-alive pings', async () => {
    h = await Harness.start({ pingIntervalMs: 20 })
    const ws = new WebSocket(h.server.wsUrl, { autoPong: false })
    await once(ws, 'open')
    const [code] = (await once(ws, 'close')) as [number]
    expect(code).toBe(1006)
  })

  it('rejects in-flight requests on close() and fails fast without reconnect', async () => {
    h = await Harness.start()
    const phone = await h.register('1', '5550710')
    const client = await h.connect(phone)
    const pending = expect(client.request({ t: 'keys.get', waId: phone.waId })).rejects.toThrow('client closed')
    await client.close()
    await pending

    const port = Number(new URL(h.server.url).port)
    await h.server.close()
    const dead = new NetworkClient({ url: `ws://127.0.0.1:${port}/ws`, reconnect: false, logger: silent })
    await expect(dead.connect()).rejects.toThrow()
  })
  it('fails blob calls within their idle timeout when the network freezes, as its WebSocket would notice', async () => {
    h = await Harness.start()
    const phone = await h.register('1', '5550720')
    const proxy = await startFreezableProxy(Number(new URL(h.server.url).port))
    const client = new NetworkClient({ url: `ws://127.0.0.1:${proxy.port}/ws`, reconnect: false, logger: silent, blobIdleTimeoutMs: 300 })
    try {
      await client.connect()
      await client.login(phone.waId, phone.password)
      const blobId = await client.uploadBlob(randomBytes(1000))
      proxy.freeze()
      await expect(client.uploadBlob(randomBytes(1000))).rejects.toThrow('blob upload: the network made no progress for 300 ms')
      await expect(client.downloadBlob(blobId)).rejects.toThrow('blob download: the network made no progress for 300 ms')
    } finally {
      await proxy.close()
      await client.close()
    }
  })
  it('gives up a connection whose network froze before the handshake was answered', async () => {
    h = await Harness.start()
    const proxy = await startFreezableProxy(Number(new URL(h.server.url).port))
    proxy.freeze()
    const client = new NetworkClient({ url: `ws://127.0.0.1:${proxy.port}/ws`, reconnect: false, logger: silent, pingIntervalMs: 100 })
    try {
      await expect(client.connect()).rejects.toThrow()
    } finally {
      await proxy.close()
      await client.close()
    }
  })
  it('does not resend a request cancelled on timeout after a reconnect, and says whether it was sent', async () => {
    // a network that answers logins and the marker, never the PIN change, and records what each connection received
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await once(wss, 'listening')
    const received: string[][] = []
    let pinArrived!: () => void
    const arrived = new Promise<void>((resolve) => (pinArrived = resolve))
    wss.on('connection', (ws) => {
      const frames: string[] = []
      received.push(frames)
      ws.on('message', (data: Buffer) => {
        const frame = decodeClientFrame(data)
        frames.push(frame.id)
        if (frame.id === 'pin') pinArrived()
        if (frame.t === 'login' || frame.id === 'marker') ws.send(encodeFrame({ v: 1, t: 'ack', id: frame.id, ok: true, result: { serverTime: 0, preKeysLeft: 0 } }))
      })
    })
    const client = new NetworkClient({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`, reconnect: true, logger: silent })
    try {
      await client.connect()
      await client.login('15550730', 'secret')
      const timeout = new AbortController()
      const unanswered = client.request({ t: 'account.pin', id: 'pin', pin: '123456' }, { signal: timeout.signal })
      await arrived
      // the caller gives up, as the bridge's AbortSignal.timeout does
      timeout.abort()
      await expect(unanswered).rejects.toMatchObject({ name: 'RequestCancelledError', sent: true })
      const back = nextEvent<void>(client, 'connected')
      for (const ws of wss.clients) ws.terminate()
      await back
      await client.request({ t: 'templates.get', id: 'marker' })
      expect(received).toEqual([[expect.any(String), 'pin'], [expect.any(String), 'marker']])
      await expect(client.request({ t: 'account.pin', pin: null }, { signal: AbortSignal.abort() })).rejects.toMatchObject({ sent: false })
    } finally {
      await client.close()
      await new Promise((resolve) => wss.close(resolve))
    }
  })
})
