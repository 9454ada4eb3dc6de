import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { WebSocketServer, type WebSocket } from 'ws'
import { Phone } from '../src/phones/phone.js'
import { MESSAGES_KEPT, PhoneStorage } from '../src/phones/phone-storage.js'
import { SignalAccount } from '../src/signal/account.js'
import { MemorySignalStore } from '../src/signal/memory-store.js'
import { decodeClientFrame, encodeFrame } from '../src/wire/codec.js'
import { encodeContent } from '../src/wire/content-codec.js'
import { PROTOCOL_VERSION, type ClientFrame, type KeysUpload, type ServerFrame } from '../src/wire/frames.js'
import { eventually } from './helpers/wabox-process.js'

const PHONE = '15550001111'
const SENDER = '15550009999'

/** Just enough of the network to log a phone in, take its keys and hold back chosen answers. */
class ScriptedNetwork {
  readonly frames: ClientFrame[] = []
  /** Requests of these types get no ack. */
  readonly unanswered = new Set<ClientFrame['t']>()
  socket: WebSocket | undefined
  readonly #wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })

  constructor() {
    this.#wss.on('connection', (ws) => {
      this.socket = ws
      ws.on('message', (data: Buffer) => {
        const frame = decodeClientFrame(data)
        this.frames.push(frame)
        if (this.unanswered.has(frame.t)) return
        const result = frame.t === 'login' ? { serverTime: 0, preKeysLeft: 0 } : frame.t === 'keys.upload' ? { preKeysLeft: frame.preKeys.length } : undefined
        this.push({ v: PROTOCOL_VERSION, t: 'ack', id: frame.id, ok: true, result })
      })
    })
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#wss.address() as { port: number }).port}/ws`
  }

  push(frame: ServerFrame): void {
    this.socket!.send(encodeFrame(frame))
  }

  close(): Promise<void> {
    for (const ws of this.#wss.clients) ws.terminate()
    return new Promise((resolve) => this.#wss.close(() => resolve()))
  }
}

describe('phone receipts', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  /** A phone on a scripted network, and a sender with a session built from the keys it uploaded. */
  async function phoneAndSender() {
    const dir = await mkdtemp(join(tmpdir(), 'wabox-phone-receipts-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const network = new ScriptedNetwork()
    cleanups.push(() => network.close())
    const storage = await PhoneStorage.open(dir, { fsync: false })
    await storage.saveProfile({
      waId: PHONE, cc: '1', phone: '5550001111', password: 'pw', profileName: 'P', script: { mode: 'none' },
      autoDeliver: true, autoReadDelayMs: null, blocked: [], offline: false,
    })
    const phone = await Phone.start({ dir, networkUrl: network.url, preKeys: 2 })
    cleanups.push(() => phone.close())
    const upload = network.frames.find((f): f is KeysUpload => f.t === 'keys.upload')!
    const sender = await SignalAccount.open({ waId: SENDER, store: new MemorySignalStore() })
    const bundle = { registrationId: upload.registrationId, deviceId: 1, identityKey: upload.identityKey, signedPreKey: upload.signedPreKey, preKey: upload.preKeys[0], kyberPreKey: upload.kyberPreKeys[0]! }
    /** The envelope push of a text from the sender. */
    const envelope = async (envelopeId: string, id: string): Promise<ServerFrame> => {
      const content = encodeContent({ kind: 'message', id, sentAt: 0, type: 'text', text: { body: 'hello' } })
      const { kind, body } = await sender.encrypt(PHONE, content, () => Promise.resolve(bundle))
      return { v: PROTOCOL_VERSION, t: 'envelope', envelopeId, from: SENDER, kind, body, serverTimestamp: 0 }
    }
    const acked = (envelopeId: string) => network.frames.filter((f) => f.t === 'envelope.ack' && f.envelopeIds.includes(envelopeId)).length
    return { phone, network, envelope, acked }
  }

  it('acks an envelope right behind its delivered receipt, without waiting for the receipt to be answered', async () => {
    const { phone, network, envelope } = await phoneAndSender()
    network.unanswered.add('receipt.send')
    network.push(await envelope('env-1', 'wamid.1'))
    await eventually(() => Promise.resolve(network.frames.some((f) => f.t === 'envelope.ack') || undefined))
    const after = network.frames.slice(network.frames.findIndex((f) => f.t === 'receipt.send'))
    expect(after.map((f) => f.t)).toEqual(['receipt.send', 'envelope.ack'])
    expect(after[0]).toMatchObject({ to: SENDER, kind: 'delivered', envelopeIds: ['env-1'] })
    expect(after[1]).toMatchObject({ envelopeIds: ['env-1'] })
    expect((await phone.inbox()).map((m) => m.id)).toEqual(['wamid.1'])
  })

  it('knows an envelope redelivered after more messages than it keeps in memory, and records it once', async () => {
    const { phone, network, envelope, acked } = await phoneAndSender()
    const count = MESSAGES_KEPT + 10
    const first = await envelope('env-0', 'wamid.0')
    const messages: string[] = []
    phone.on('message', (view) => messages.push(view.id))
    network.push(first)
    for (let i = 1; i < count; i++) network.push(await envelope(`env-${i}`, `wamid.${i}`))
    await eventually(() => Promise.resolve(acked(`env-${count - 1}`) > 0 || undefined))

    // its ack was lost: the network pushes it again, long after
    network.push(first)
    await eventually(() => Promise.resolve(acked('env-0') === 2 || undefined))
    const inbox = await phone.inbox()
    expect(inbox.map((m) => m.id)).toEqual(Array.from({ length: count }, (_, i) => `wamid.${i}`))
    expect(inbox.filter((m) => m.error)).toEqual([])
    expect(messages).toHaveLength(count)
    expect(phone.inboxCounts()).toEqual({ total: count, unread: count })
    // and the sender hears it was delivered again (the first receipt may have been lost too)
    const receipts = network.frames.filter((f) => f.t === 'receipt.send' && f.envelopeIds.includes('env-0'))
    expect(receipts).toHaveLength(2)
  })

  it('reads an envelope again after failing to keep it, and sends its receipt then', async () => {
    const { phone, network, envelope, acked } = await phoneAndSender()
    // the inbox write fails once, as when the phone dies between decrypting and keeping a message
    const append = vi.spyOn(PhoneStorage.prototype, 'appendInbox').mockRejectedValueOnce(new Error('killed'))
    cleanups.push(async () => append.mockRestore())
    const first = await envelope('env-1', 'wamid.1')
    network.push(first)
    await eventually(() => Promise.resolve(append.mock.calls.length === 1 || undefined))
    expect(acked('env-1')).toBe(0)

    // not acked: the network pushes it again
    network.push(first)
    await eventually(() => Promise.resolve(acked('env-1') === 1 || undefined))
    const inbox = await phone.inbox()
    expect(inbox.map((m) => ({ id: m.id, error: m.error }))).toEqual([{ id: 'wamid.1', error: undefined }])
    expect(network.frames.filter((f) => f.t === 'receipt.send' && f.kind === 'delivered' && f.envelopeIds.includes('env-1'))).toHaveLength(1)
  })
})
