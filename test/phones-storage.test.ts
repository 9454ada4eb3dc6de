import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildContent, parseSendRequest, SendRequestError } from '../src/phones/outgoing.js'
import { MESSAGES_KEPT, PhoneStorage } from '../src/phones/phone-storage.js'
import { scriptedReply } from '../src/phones/phone.js'
import { fleetPhoneNumber } from '../src/phones/phone-fleet.js'

describe('PhoneStorage', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wabox-phone-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('replays inbox, outbox and status changes on open', async () => {
    const storage = await PhoneStorage.open(dir, { fsync: false })
    const inbound = await storage.appendInbox({
      id: 'wamid.1',
      envelopeId: 'e1',
      from: '15550001111',
      receivedAt: 10,
      content: { type: 'image', media: { key: new Uint8Array([1, 2, 3]) } },
    })
    expect(inbound.content).toEqual({ type: 'image', media: { key: 'AQID' } })
    await storage.appendOutbox({ id: 'm1', envelopeId: 'm1', to: '15550001111', sentAt: 11, content: { type: 'text' } })
    await storage.appendOutbox({ id: 'm2', envelopeId: 'm2', to: '15550001111', sentAt: 12, content: { type: 'text' } })
    await storage.appendStatus({ type: 'receipt', receiptId: 'r1', from: '15550001111', kind: 'read', envelopeIds: ['m1'], timestamp: 20 })
    await storage.appendStatus({ type: 'failed', envelopeId: 'm2', code: 'blocked', message: 'blocked', at: 21 })
    await storage.appendStatus({ type: 'read', ids: ['wamid.1'], at: 22 })

    const reopened = await PhoneStorage.open(dir)
    expect(reopened.inboxByEnvelope('e1')).toEqual({ ...inbound, readAt: 22 })
    expect(reopened.hasReceipt('r1')).toBe(true)
    expect(await reopened.inbox()).toEqual([{ ...inbound, readAt: 22 }])
    expect((await reopened.outbox()).map((m) => [m.id, m.status, m.deliveredAt, m.readAt])).toEqual([
      ['m1', 'read', 20, 20],
      ['m2', 'failed', undefined, undefined],
    ])
  })

  it('keeps the newest messages in memory and reads older ones back from its logs, with their statuses', async () => {
    const storage = await PhoneStorage.open(dir, { fsync: false })
    const count = MESSAGES_KEPT * 2 + 3
    for (let i = 0; i < count; i++) {
      await storage.appendInbox({ id: `in${i}`, envelopeId: `e${i}`, from: '1', receivedAt: i, content: { type: 'text' } })
      await storage.appendOutbox({ id: `out${i}`, envelopeId: `out${i}`, to: '1', sentAt: i, content: { type: 'text' } })
    }
    await storage.appendInbox({ id: 'bad', envelopeId: 'e-bad', from: '1', receivedAt: count, error: 'decrypt failed' })
    // a receipt and a read mark for messages memory no longer holds
    await storage.appendStatus({ type: 'receipt', receiptId: 'r0', from: '1', kind: 'read', envelopeIds: ['out0'], timestamp: 500 })
    await storage.appendStatus({ type: 'read', ids: ['in0', 'in1'], at: 600 })
    expect(storage.inboxByEnvelope('e0')).toBeUndefined()
    expect(storage.inboxByEnvelope(`e${count - 1}`)).toMatchObject({ id: `in${count - 1}` })

    for (const s of [storage, await PhoneStorage.open(dir)]) {
      const inbox = await s.inbox()
      expect(inbox.map((m) => m.id)).toEqual([...Array.from({ length: count }, (_, i) => `in${i}`), 'bad'])
      expect(inbox.slice(0, 3).map((m) => m.readAt)).toEqual([600, 600, undefined])
      expect(s.inboxCounts()).toEqual({ total: count + 1, unread: count - 2 })
      expect(await s.findByEnvelope('e0')).toMatchObject({ id: 'in0', readAt: 600 })
      expect(await s.findByEnvelope('e-never')).toBeUndefined()
      expect(await s.inboxEntries(['in2', `in${count - 1}`, 'nope'])).toMatchObject([{ id: 'in2' }, { id: `in${count - 1}` }, undefined])
      const outbox = await s.outbox()
      expect(outbox).toHaveLength(count)
      expect(outbox[0]).toMatchObject({ id: 'out0', status: 'read', deliveredAt: 500, readAt: 500 })
      expect(outbox[1]).toMatchObject({ id: 'out1', status: 'sent' })
      expect(s.outboxEntry(`out${count - 1}`)).toMatchObject({ status: 'sent' })
    }
  })

  it('cuts a line torn by a crash so the next append starts clean', async () => {
    const storage = await PhoneStorage.open(dir)
    await storage.appendInbox({ id: 'a', envelopeId: 'ea', from: '1', receivedAt: 1, content: {} })
    await appendFile(join(dir, 'inbox.jsonl'), '{"id":"torn","envel')
    const reopened = await PhoneStorage.open(dir)
    await reopened.appendInbox({ id: 'b', envelopeId: 'eb', from: '1', receivedAt: 2, content: {} })
    expect((await (await PhoneStorage.open(dir)).inbox()).map((m) => m.id)).toEqual(['a', 'b'])
    expect((await readFile(join(dir, 'inbox.jsonl'), 'utf8')).split('\n')).toHaveLength(3)
  })

  it('appends after a torn line was cut, through descriptors it keeps open until closed', async () => {
    const storage = await PhoneStorage.open(dir, { fsync: false })
    await storage.appendInbox({ id: 'a', envelopeId: 'ea', from: '1', receivedAt: 1, content: {} })
    await appendFile(join(dir, 'inbox.jsonl'), '{"id":"torn","envel')
    // a killed phone's successor: the old descriptor still open while the new storage cuts the file
    const reopened = await PhoneStorage.open(dir, { fsync: false })
    await reopened.appendInbox({ id: 'b', envelopeId: 'eb', from: '1', receivedAt: 2, content: {} })
    const text = { type: 'text', text: { body: 'olá 👋 — ünïcode' }, sentAt: undefined }
    expect((await storage.appendInbox({ id: 'c', envelopeId: 'ec', from: '1', receivedAt: 3, content: text })).content).toEqual({
      type: 'text',
      text: { body: 'olá 👋 — ünïcode' },
    })
    storage.close()
    reopened.close()
    const inbox = await (await PhoneStorage.open(dir)).inbox()
    expect(inbox.map((m) => m.id)).toEqual(['a', 'b', 'c'])
    expect(inbox[2]!.content).toEqual({ type: 'text', text: { body: 'olá 👋 — ünïcode' } })
  })
})

describe('send requests', () => {
  it('parses every message type a phone can send', () => {
    const to = '15550009999'
    expect(parseSendRequest({ to, type: 'text', text: 'hi', replyTo: 'wamid.x' })).toEqual({ to, type: 'text', text: 'hi', replyTo: 'wamid.x' })
    expect(parseSendRequest({ to, type: 'image', data: 'aGVsbG8=', mimeType: 'image/png', caption: 'c' })).toMatchObject({
      type: 'image',
      mimeType: 'image/png',
      caption: 'c',
      data: Buffer.from('hello'),
    })
    expect(parseSendRequest({ to, type: 'location', latitude: 1.5, longitude: -2, name: 'HQ' })).toEqual({ to, type: 'location', latitude: 1.5, longitude: -2, name: 'HQ' })
    expect(parseSendRequest({ to, type: 'contacts', contacts: [{ name: { formatted_name: 'A' } }] }).type).toBe('contacts')
    expect(parseSendRequest({ to, type: 'button', text: 'Yes', payload: 'YES' })).toEqual({ to, type: 'button', text: 'Yes', payload: 'YES' })
    expect(parseSendRequest({ to, type: 'button_reply', id: 'b1', title: 'One' })).toEqual({ to, type: 'button_reply', id: 'b1', title: 'One' })
    expect(parseSendRequest({ to, type: 'list_reply', id: 'r1', title: 'Row', description: 'd' })).toEqual({ to, type: 'list_reply', id: 'r1', title: 'Row', description: 'd' })
    expect(parseSendRequest({ to, type: 'reaction', messageId: 'wamid.x', emoji: '' })).toEqual({ to, type: 'reaction', messageId: 'wamid.x', emoji: '' })
  })

  it('names the first bad field', () => {
    expect(() => parseSendRequest({ type: 'text', text: 'x' })).toThrow(/to must be/)
    expect(() => parseSendRequest({ to: '1', type: 'fax' })).toThrow(/unknown type fax/)
    expect(() => parseSendRequest({ to: '1', type: 'location', latitude: '1', longitude: 2 })).toThrow(/latitude/)
    expect(() => parseSendRequest({ to: '1', type: 'image', data: '', mimeType: 'image/png' })).toThrow(SendRequestError)
    expect(() => parseSendRequest(null)).toThrow(SendRequestError)
  })

  it('builds the WhatsApp-shaped content', () => {
    const meta = { id: 'p1', sentAt: 5, profileName: 'Ann' }
    expect(buildContent({ to: '1', type: 'list_reply', id: 'r1', title: 'Row', replyTo: 'wamid.q' }, meta)).toMatchObject({
      kind: 'message',
      id: 'p1',
      type: 'interactive',
      interactive: { type: 'list_reply', list_reply: { id: 'r1', title: 'Row' } },
      context: { id: 'wamid.q' },
    })
    expect(buildContent({ to: '1', type: 'button_reply', id: 'b', title: 'B' }, meta)).toMatchObject({
      type: 'interactive',
      interactive: { type: 'button_reply', button_reply: { id: 'b', title: 'B' } },
    })
    expect(buildContent({ to: '1', type: 'reaction', messageId: 'wamid.q', emoji: '👍' }, meta)).toMatchObject({ reaction: { message_id: 'wamid.q', emoji: '👍' } })
    expect(() => buildContent({ to: '1', type: 'image', data: new Uint8Array(1), mimeType: 'image/png' }, meta)).toThrow(/uploaded media/)
  })

  it('scripts replies', () => {
    const text = { kind: 'message' as const, id: 'x', sentAt: 1, type: 'text' as const, text: { body: 'ping' } }
    expect(scriptedReply({ mode: 'echo' }, text)).toBe('ping')
    expect(scriptedReply({ mode: 'fixed', text: 'pong' }, text)).toBe('pong')
    expect(scriptedReply({ mode: 'none' }, text)).toBeUndefined()
    expect(scriptedReply({ mode: 'echo' }, { ...text, type: 'reaction', reaction: { message_id: 'y', emoji: '👍' } })).toBeUndefined()
  })

  it('numbers fleet phones deterministically', () => {
    expect(fleetPhoneNumber(1)).toBe('5550000001')
    expect(fleetPhoneNumber(1234567)).toBe('5551234567')
    expect(() => fleetPhoneNumber(10_000_000)).toThrow(RangeError)
  })
})
