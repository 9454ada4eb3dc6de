import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decryptMedia, encryptMedia, sha256Hex } from '../src/signal/media-crypto.js'
import type { Content } from '../src/wire/content.js'
import { decodeContent, encodeContent } from '../src/wire/content-codec.js'

describe('media crypto', () => {
  it('round-trips a file and describes its plaintext', () => {
    const file = randomBytes(100_000)
    const enc = encryptMedia(file)
    expect(enc.key).toHaveLength(32)
    expect(enc.iv).toHaveLength(12)
    expect(enc.sha256).toBe(sha256Hex(file))
    expect(Buffer.from(enc.ciphertext).includes(file.subarray(0, 64))).toBe(false)
    expect(Buffer.from(decryptMedia(enc.ciphertext, enc))).toEqual(file)
  })

  it('uses a fresh key for every file', () => {
    const file = randomBytes(64)
    expect(Buffer.from(encryptMedia(file).key)).not.toEqual(Buffer.from(encryptMedia(file).key))
  })

  it('rejects a tampered blob, a wrong key and a wrong sha256', () => {
    const enc = encryptMedia(randomBytes(1000))
    const tampered = Buffer.from(enc.ciphertext)
    tampered[10]! ^= 1
    expect(() => decryptMedia(tampered, enc)).toThrow()
    expect(() => decryptMedia(enc.ciphertext, { ...enc, key: randomBytes(32) })).toThrow()
    expect(() => decryptMedia(enc.ciphertext, { ...enc, sha256: sha256Hex(randomBytes(8)) })).toThrow(/sha256/)
    expect(() => decryptMedia(enc.ciphertext.subarray(0, 8), enc)).toThrow()
  })
})

describe('content codec', () => {
  it('round-trips messages, keeping bytes as bytes and absent fields absent', () => {
    const enc = encryptMedia(randomBytes(10))
    const image: Content = {
      kind: 'message',
      id: 'wamid.abc',
      sentAt: 1_767_225_600_000,
      type: 'image',
      media: { blobId: 'b1', key: enc.key, iv: enc.iv, sha256: enc.sha256, mimeType: 'image/png', size: 10, caption: undefined },
      context: undefined,
    }
    const decoded = decodeContent(encodeContent(image))
    expect(decoded).toEqual({ ...image, media: { ...image.media, key: new Uint8Array(enc.key), iv: new Uint8Array(enc.iv) } })
    expect('context' in decoded).toBe(false)
    if (decoded.type !== 'image') throw new Error('wrong type')
    expect(decoded.media.key).toBeInstanceOf(Uint8Array)

    const reply: Content = { kind: 'message', id: 'p1', sentAt: 1, type: 'text', text: { body: 'yes' }, context: { id: 'wamid.abc' } }
    expect(decodeContent(encodeContent(reply))).toEqual(reply)
  })

  it('rejects what is not a Content', () => {
    const bad = (v: unknown) => () => decodeContent(encodeContent(v as Content))
    expect(bad([1, 2])).toThrow(/not a map/)
    expect(bad({ kind: 'receipt' })).toThrow(/kind/)
    expect(bad({ kind: 'message', id: 'x', sentAt: 1, type: 'hologram' })).toThrow(/type/)
    expect(bad({ kind: 'message', id: 'x', sentAt: 1, type: 'text' })).toThrow(/lacks text/)
    expect(bad({ kind: 'message', id: 'x', sentAt: 1, type: 'toString', toString: {} })).toThrow(/type/)
    expect(() => decodeContent(new Uint8Array([0xc1]))).toThrow()
  })
})
