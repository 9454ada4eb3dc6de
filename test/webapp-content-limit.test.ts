import { Encoder } from '@msgpack/msgpack'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TestClock } from '../src/clock.js'
import { buildContent } from '../src/coreapp/payload.js'
import { encodedSizeBound, MAX_CONTENT_BYTES, NETWORK_ENVELOPE_BYTES, pathTooDeep } from '../src/domain/message/limits.js'
import { WaboxError } from '../src/errors/index.js'
import { messageId } from '../src/ids.js'
import { validateOutbound } from '../src/domain/message/validation.js'
import { decodeClientFrame, encodeFrame, MAX_ENVELOPE_BODY_BYTES } from '../src/wire/codec.js'
import { decodeContent, encodeContent } from '../src/wire/content-codec.js'
import { PROTOCOL_VERSION } from '../src/wire/frames.js'
import { contactsOfSize, flowOfSize } from './helpers/message-bodies.js'
import { KeyDirectory, openAccount } from './signal-helpers.js'

const opts = { requireNamespace: true }
// the CoreApp's encoder: the bound must hold for what it actually sends
const msgpack = new Encoder({ ignoreUndefined: true })

function code(body: unknown): number | undefined {
  try {
    validateOutbound(body, opts)
    return undefined
  } catch (err) {
    if (err instanceof WaboxError) return err.code
    throw err
  }
}

/** Encodes the accepted content as the CoreApp does, encrypts it for a new session and returns what the network receives. */
async function sealForNetwork(body: unknown): Promise<{ frame: Uint8Array; bodyBytes: number; decoded: () => Promise<unknown> }> {
  const clock = new TestClock()
  const directory = new KeyDirectory()
  const business = await openAccount('15550100', directory, { clock })
  const phone = await openAccount('16315551234', directory, { clock })
  const { content } = validateOutbound(body, opts)
  // the widest the CoreApp adds: a long profile name and a reply context
  const wire = buildContent({ ...content, context: { message_id: `wamid.${'r'.repeat(200)}` } }, {
    id: messageId(), sentAt: clock.now(), profileName: 'P'.repeat(512),
  })
  // a first message carries the pre-key header, the widest Signal envelope
  const encrypted = await business.encrypt('16315551234', encodeContent(wire), directory.bundles)
  expect(encrypted.kind).toBe('prekey')
  const frame = encodeFrame({ v: PROTOCOL_VERSION, t: 'envelope.send', id: 'r1', envelopeId: 'e'.repeat(64), to: '16315551234', kind: encrypted.kind, body: encrypted.body })
  return {
    frame,
    bodyBytes: encrypted.body.length,
    decoded: async () => decodeContent((await phone.decrypt('15550100', encrypted.kind, encrypted.body)).plaintext),
  }
}

describe('the content limit at the edge fits the network envelope', () => {
  it('mirrors the wire limit in domain/', () => {
    expect(NETWORK_ENVELOPE_BYTES).toBe(MAX_ENVELOPE_BODY_BYTES)
    expect(MAX_CONTENT_BYTES).toBeLessThan(NETWORK_ENVELOPE_BYTES)
  })

  it('the largest accepted contacts card is encrypted into an envelope the network takes, and the phone reads it', async () => {
    const body = contactsOfSize(MAX_CONTENT_BYTES)
    expect(code(body)).toBeUndefined()
    const sealed = await sealForNetwork(body)
    expect(sealed.bodyBytes).toBeGreaterThan(MAX_CONTENT_BYTES - 1024)
    expect(sealed.bodyBytes).toBeLessThanOrEqual(MAX_ENVELOPE_BODY_BYTES)
    expect(() => decodeClientFrame(sealed.frame)).not.toThrow()
    expect(await sealed.decoded()).toMatchObject({ type: 'contacts', contacts: (body as { contacts: unknown }).contacts })
    expect(code(contactsOfSize(MAX_CONTENT_BYTES + 1))).toBe(1001)
  })

  it('so does the largest accepted flow of numbers (each 9 bytes in MessagePack)', async () => {
    const body = flowOfSize(MAX_CONTENT_BYTES, 25_000)
    expect(code(body)).toBeUndefined()
    const sealed = await sealForNetwork(body)
    expect(sealed.bodyBytes).toBeLessThanOrEqual(MAX_ENVELOPE_BODY_BYTES)
    expect(() => decodeClientFrame(sealed.frame)).not.toThrow()
    expect(code(flowOfSize(MAX_CONTENT_BYTES + 1, 25_000))).toBe(1001)
  })

  it('encodedSizeBound is never below the MessagePack size of a JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      expect(encodedSizeBound(value)).toBeGreaterThanOrEqual(msgpack.encode(value).length)
    }), { seed: 13, numRuns: 500 })
  })

  it('pathTooDeep finds the first level past the limit without recursion', () => {
    expect(pathTooDeep({ a: [{ b: 1 }] }, 3)).toBeUndefined()
    expect(pathTooDeep({ a: [{ b: {} }] }, 3)).toEqual(['a', 0, 'b'])
    expect(pathTooDeep('text', 1)).toBeUndefined()
    let deep: unknown = []
    for (let i = 0; i < 1_000_000; i++) deep = [deep]
    expect(pathTooDeep(deep, 16)).toHaveLength(16)
  })
})
