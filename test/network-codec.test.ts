import { encode } from '@msgpack/msgpack'
import { describe, expect, it } from 'vitest'
import { decodeClientFrame, decodeServerFrame, encodeFrame, FrameError } from '../src/wire/codec.js'
import { decodeContent, encodeContent } from '../src/wire/content-codec.js'
import type { ClientFrame } from '../src/wire/frames.js'
import { fnv1a32, shardOf } from '../src/domain/shard.js'

describe('wire codec', () => {
  it('round-trips client frames, with bytes as bytes and absent fields absent', () => {
    const frame: ClientFrame = { v: 1, id: 'r1', t: 'envelope.send', envelopeId: 'e1', to: '15550001', kind: 'prekey', body: new Uint8Array([1, 2, 3]), category: undefined }
    const decoded = decodeClientFrame(encodeFrame(frame))
    expect(decoded).toEqual({ v: 1, id: 'r1', t: 'envelope.send', envelopeId: 'e1', to: '15550001', kind: 'prekey', body: new Uint8Array([1, 2, 3]) })
    expect('category' in decoded).toBe(false)
  })

  it('treats nil as absent for optional fields but keeps a nil PIN (clears it)', () => {
    const withNil = decodeClientFrame(encode({ v: 1, id: 'r', t: 'register.request', cc: '1', phone: '5550001', method: 'sms', cert: null }))
    expect('cert' in withNil).toBe(false)
    expect(decodeClientFrame(encode({ v: 1, id: 'r', t: 'account.pin', pin: null }))).toMatchObject({ pin: null })
  })

  it.each([
    ['not msgpack', Buffer.from([0xc1])],
    ['not a map', encode([1, 2])],
    ['another version', encode({ v: 2, id: 'r', t: 'templates.get' })],
    ['an unknown type', encode({ v: 1, id: 'r', t: 'teleport' })],
    ['a missing id', encode({ v: 1, t: 'templates.get' })],
    ['a prototype key as type', encode({ v: 1, id: 'r', t: 'constructor' })],
    ['a string body', encode({ v: 1, id: 'r', t: 'envelope.send', envelopeId: 'e', to: '1', kind: 'message', body: 'text' })],
    ['a wrong enum', encode({ v: 1, id: 'r', t: 'receipt.send', to: '1', kind: 'played', envelopeIds: [] })],
    ['a number where a string belongs', encode({ v: 1, id: 'r', t: 'keys.get', waId: 5 })],
    ['an oversized body', encode({ v: 1, id: 'r', t: 'envelope.send', envelopeId: 'e', to: '1', kind: 'message', body: new Uint8Array(300 * 1024) })],
  ])('rejects %s', (_name, data) => {
    expect(() => decodeClientFrame(data)).toThrow(FrameError)
  })

  it.each([
    ['a wrong type', { body: 'text' }, 'bad_request', 'invalid field body'],
    ['an over-limit body', { body: new Uint8Array(300 * 1024) }, 'too_large', 'body is 307200 bytes, over the limit of 262144 bytes'],
  ])('names the request to refuse for %s, and says why', (_name, fields, code, message) => {
    const data = encode({ v: 1, id: 'r9', t: 'envelope.send', envelopeId: 'e', to: '1', kind: 'message', ...fields })
    expect(() => decodeClientFrame(data)).toThrow(expect.objectContaining({ refusal: { id: 'r9', code }, message: expect.stringContaining(message) }))
  })

  it('leaves frames without an id or type nothing to refuse: the connection closes', () => {
    expect(() => decodeClientFrame(encode({ v: 1, t: 'envelope.send', body: 'text' }))).toThrow(expect.objectContaining({ refusal: undefined }))
  })

  it('decodes server pushes and acks', () => {
    const push = decodeServerFrame(encodeFrame({ v: 1, t: 'receipt', receiptId: 'r', from: '1', kind: 'read', envelopeIds: ['a'], timestamp: 5 }))
    expect(push).toMatchObject({ t: 'receipt', envelopeIds: ['a'] })
    expect(decodeServerFrame(encodeFrame({ v: 1, t: 'ack', id: 'x', ok: false, error: { code: 'blocked', message: 'no' } }))).toMatchObject({ ok: false })
    expect(() => decodeServerFrame(encode({ v: 1, t: 'ack', ok: true }))).toThrow(FrameError)
  })
})

describe('content codec', () => {
  /** A contacts plaintext whose card nests `depth` maps, written byte by byte as a hostile sender's encoder would. */
  const nested = (depth: number) => {
    const head = encode({ kind: 'message', id: 'm1', sentAt: 1, type: 'contacts' })
    head[0] = 0x85 // a map of five: `contacts` follows
    return Buffer.concat([head, encode('contacts'), Buffer.of(0x91), Buffer.from('81a161'.repeat(depth), 'hex'), Buffer.of(0x80)])
  }

  it('takes content as deep as its own encoder writes, and refuses deeper content that would overflow the stack downstream', () => {
    expect(decodeContent(encodeContent({ kind: 'message', id: 'm1', sentAt: 1, type: 'contacts', contacts: [{ org: JSON.parse('{"a":'.repeat(96) + '{}' + '}'.repeat(96)) }] }))).toMatchObject({ type: 'contacts' })
    expect(() => decodeContent(nested(150))).toThrow('nested deeper than 100 levels')
    expect(() => decodeContent(nested(20_000))).toThrow('nested deeper than 100 levels')
  })
})

describe('shard function', () => {
  it('is 32-bit FNV-1a over UTF-8', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5)
    expect(fnv1a32('a')).toBe(0xe40c292c)
    expect(fnv1a32('foobar')).toBe(0xbf9cf968)
    expect(shardOf('foobar', 32)).toBe(0xbf9cf968 % 32)
  })

  it('spreads wa_ids over shards', () => {
    const counts = new Array(8).fill(0)
    for (let i = 0; i < 8000; i++) counts[shardOf(`1555${String(i).padStart(7, '0')}`, 8)]++
    for (const n of counts) expect(n).toBeGreaterThan(800)
  })
})
