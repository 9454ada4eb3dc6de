import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { startNetworkServer, type NetworkServer } from '../src/network/index.js'
import { KeyDirectory } from '../src/network/keys.js'
import type { Phone } from '../src/phones/phone.js'
import { PhoneFleet } from '../src/phones/phone-fleet.js'
import type { InboxView, StatusEvent } from '../src/phones/phone-messages.js'
import { SignalAccount } from '../src/signal/account.js'
import { MemorySignalStore } from '../src/signal/memory-store.js'
import { NetworkClient } from '../src/wire/client.js'
import { decodeContent, encodeContent } from '../src/wire/content-codec.js'
import type { EnvelopePush, PreKeyBundleWire, RegisterVerifyResult } from '../src/wire/frames.js'
import { waitFor } from './phones-helpers.js'

type Receipt = Extract<StatusEvent, { type: 'receipt' }>

describe('phones on the network', () => {
  let dir: string
  let server: NetworkServer
  let fleet: PhoneFleet | undefined
  const closers: (() => Promise<void>)[] = []

  const openFleet = () =>
    PhoneFleet.open({ dataDir: join(dir, 'wabox'), networkUrl: server.wsUrl, codeSource: (cc, phone) => server.lastCode(cc, phone), fsync: false })

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wabox-phones-'))
    server = await startNetworkServer({ dataDir: join(dir, 'network'), port: 0, profile: 'dev', logger: pino({ level: 'silent' }) })
    fleet = await openFleet()
  })

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close()
    await fleet?.close()
    await server.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('exchanges end-to-end encrypted text and media, with receipts', async () => {
    const [alice, bob] = (await fleet!.create(2)) as [Phone, Phone]
    expect([alice.waId, bob.waId]).toEqual(['15550000001', '15550000002'])
    const secret = `secret-${randomBytes(6).toString('hex')}`

    const received = waitFor<InboxView>(bob, 'message')
    const delivered = waitFor<Receipt>(alice, 'receipt', (r) => r.kind === 'delivered')
    const read = waitFor<Receipt>(alice, 'receipt', (r) => r.kind === 'read')
    const sent = await alice.send({ to: bob.waId, type: 'text', text: secret })
    expect((await received).content).toMatchObject({ type: 'text', text: { body: secret }, id: sent.id })
    expect((await delivered).envelopeIds).toEqual([sent.envelopeId])
    await read
    expect((await alice.outbox()).find((m) => m.id === sent.id)?.status).toBe('read')

    const photo = randomBytes(50_000)
    const gotImage = waitFor<InboxView>(alice, 'message')
    await bob.send({ to: alice.waId, type: 'image', data: photo, mimeType: 'image/jpeg', caption: 'look', replyTo: sent.id })
    const image = await gotImage
    expect(image.content).toMatchObject({ type: 'image', context: { id: sent.id }, media: { caption: 'look', mimeType: 'image/jpeg', size: photo.length } })
    expect(image.mediaError).toBeUndefined()
    expect(await readFile(join(alice.dir, image.mediaFile!))).toEqual(photo)

    // the network only ever held ciphertext
    for (const file of await listFiles(join(dir, 'network'))) {
      const bytes = await readFile(file)
      expect(bytes.includes(secret), file).toBe(false)
      expect(bytes.includes(photo.subarray(0, 32)), file).toBe(false)
    }
  })

  it('keeps sessions and inbox across a restart from its folder', async () => {
    const [alice, bob] = (await fleet!.create(2)) as [Phone, Phone]
    const hello = waitFor<InboxView>(alice, 'message')
    await bob.send({ to: alice.waId, type: 'text', text: 'hello' })
    await hello
    await bob.goOffline()
    // alice answers over the session bob's pre-key message created: a plain SignalMessage,
    // which bob can only decrypt with the session he stored before going offline
    await alice.send({ to: bob.waId, type: 'text', text: 'while you were away' })
    await fleet!.close()

    fleet = await openFleet()
    const bob2 = fleet.get(bob.waId)!
    expect(bob2.online).toBe(false)
    expect((await bob2.outbox()).map((m) => m.content)).toMatchObject([{ text: { body: 'hello' } }])
    const alice2 = fleet.get(alice.waId)!
    expect((await alice2.inbox()).map((m) => m.content)).toMatchObject([{ text: { body: 'hello' } }])

    const queued = waitFor<InboxView>(bob2, 'message')
    await bob2.goOnline()
    expect((await queued).content).toMatchObject({ text: { body: 'while you were away' } })
    expect((await queued).error).toBeUndefined()

    const more = waitFor<InboxView>(alice2, 'message')
    await bob2.send({ to: alice2.waId, type: 'text', text: 'back again' })
    expect((await more).content).toMatchObject({ text: { body: 'back again' } })
    expect(fleet.list().map((p) => p.waId)).toEqual([alice.waId, bob.waId])
  })

  it('delivers to a business, replies by script, and block/report lower its quality', async () => {
    const business = await registerBusiness(server, '1', '5551110000')
    closers.push(() => business.client.close())
    const phones = await fleet!.create(5)
    const [first] = phones as [Phone]
    await first.setScript({ mode: 'echo' })

    const inbound = waitFor<EnvelopePush>(business.client, 'envelope')
    await first.send({ to: business.waId, type: 'button_reply', id: 'yes', title: 'Yes', replyTo: 'wamid.template' })
    const envelope = await inbound
    const content = decodeContent((await business.signal.decrypt(envelope.from, envelope.kind, envelope.body)).plaintext)
    expect(content).toMatchObject({ type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Yes' } }, context: { id: 'wamid.template' } })

    // business answers; the phone echoes it back, quoting the business message
    const echo = waitFor<EnvelopePush>(business.client, 'envelope')
    await business.send(first.waId, 'ping', 'wamid.ping')
    const reply = await echo
    expect(decodeContent((await business.signal.decrypt(reply.from, reply.kind, reply.body)).plaintext)).toMatchObject({
      type: 'text',
      text: { body: 'ping' },
      context: { id: 'wamid.ping' },
    })

    const quality = async () => ((await server.app.inject({ url: `/control/accounts/${business.waId}/integrity` })).json() as { quality: string; blockedBy: number })
    expect((await quality()).quality).toBe('GREEN')
    for (const phone of phones) await phone.report(business.waId)
    await first.block(business.waId)
    expect(first.profile.blocked).toEqual([business.waId])
    expect(await quality()).toMatchObject({ quality: 'YELLOW', blockedBy: 1 })
    await expect(business.send(first.waId, 'still there?', 'wamid.x')).rejects.toMatchObject({ code: 'blocked' })
    await first.unblock(business.waId)
    expect((await quality()).blockedBy).toBe(0)
  })

  it('keeps a phone whose first login failed in the fleet, and brings it online at the next start', async () => {
    // the network's login read fails once, after the phone registered
    const count = vi.spyOn(KeyDirectory.prototype, 'preKeysLeft').mockImplementationOnce(() => Promise.reject(new Error('disk I/O error')))
    try {
      await expect(fleet!.create(1)).rejects.toThrow('internal error')
    } finally {
      count.mockRestore()
    }
    await fleet!.close()
    fleet = await openFleet()
    expect(fleet.list().map((p) => p.online)).toEqual([true])
    // its number stays taken: the next phone gets the next one
    const [next] = (await fleet.create(1)) as [Phone]
    expect(next.waId).not.toBe(fleet.list()[0]!.waId)
  })

  it('tops up its pre-keys when the network says they run low', async () => {
    await fleet!.close()
    fleet = await PhoneFleet.open({ dataDir: join(dir, 'wabox'), networkUrl: server.wsUrl, codeSource: (cc, p) => server.lastCode(cc, p), preKeys: 4, fsync: false })
    const [phone] = (await fleet.create(1)) as [Phone]
    const business = await registerBusiness(server, '1', '5551110001')
    closers.push(() => business.client.close())
    const fetched: (number | undefined)[] = []
    const left: number[] = []
    for (let i = 0; i < 3; i++) {
      // fewer than the network's threshold (10) stay after each fetch: every one asks for a top-up of 4
      const toppedUp = waitFor<number>(phone, 'keys')
      fetched.push((await business.client.request<PreKeyBundleWire>({ t: 'keys.get', waId: phone.waId })).preKey?.id)
      left.push(await toppedUp)
    }
    expect(left).toEqual([3 + 4, 6 + 4, 9 + 4])
    expect(new Set(fetched).size).toBe(3)
    expect(fetched.every((id) => id !== undefined)).toBe(true)
  })

  it('reads after the configured delay, driven by the injected scheduler', async () => {
    const tasks: (() => void)[] = []
    let onScheduled = () => {}
    const readScheduled = new Promise<void>((resolve) => (onScheduled = resolve))
    const scheduled = { after: (_ms: number, task: () => void) => (tasks.push(task), onScheduled(), () => undefined) }
    await fleet!.close()
    fleet = await PhoneFleet.open({
      dataDir: join(dir, 'wabox'),
      networkUrl: server.wsUrl,
      codeSource: (cc, phone) => server.lastCode(cc, phone),
      scheduler: scheduled,
      autoReadDelayMs: 1000,
      fsync: false,
    })
    const [alice, bob] = (await fleet.create(2)) as [Phone, Phone]
    const delivered = waitFor<Receipt>(alice, 'receipt', (r) => r.kind === 'delivered')
    const sent = await alice.send({ to: bob.waId, type: 'location', latitude: 52.52, longitude: 13.4, name: 'Berlin' })
    // the receipt can reach alice before bob's side of the round trip schedules the read
    await delivered
    await readScheduled
    expect((await bob.inbox())[0]?.readAt).toBeUndefined()
    expect(tasks).toHaveLength(1)

    const read = waitFor<Receipt>(alice, 'receipt', (r) => r.kind === 'read')
    const marked = waitFor<string[]>(bob, 'read')
    tasks[0]!()
    expect((await read).envelopeIds).toEqual([sent.envelopeId])
    expect(await marked).toEqual([sent.id])
    expect((await bob.inbox())[0]?.readAt).toBeDefined()
  })
})

/** A bare business number: what the CoreApp does, reduced to what these tests need. */
async function registerBusiness(server: NetworkServer, cc: string, phone: string) {
  const client = new NetworkClient({ url: server.wsUrl, reconnect: false })
  await client.connect()
  await client.request({ t: 'register.request', cc, phone, method: 'sms', cert: server.issueVnameCertificate(cc, phone, 'Acme') })
  const { waId, password } = await client.request<RegisterVerifyResult>({ t: 'register.verify', cc, phone, code: (await server.lastCode(cc, phone))! })
  await client.login(waId, password)
  const signal = await SignalAccount.open({ waId, store: new MemorySignalStore() })
  await client.request({ t: 'keys.upload', ...(await signal.generateKeys(5)) })
  client.on('envelope', (env) => void client.request({ t: 'envelope.ack', envelopeIds: [env.envelopeId] }))
  const send = async (to: string, text: string, id: string) => {
    const plaintext = encodeContent({ kind: 'message', id, sentAt: 0, type: 'text', text: { body: text } })
    const { kind, body } = await signal.encrypt(to, plaintext, (w) => client.request<PreKeyBundleWire>({ t: 'keys.get', waId: w }))
    await client.request({ t: 'envelope.send', envelopeId: id, to, kind, body })
  }
  return { waId, client, signal, send }
}

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}
