import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'

/**
 * Streamed AES-256-GCM for files at rest, in the STREAM construction: the plaintext is cut
 * into 64 KiB segments, each sealed with its own tag; the IV holds the segment counter and a
 * last-segment flag, so reordering, truncation and extension all fail authentication, and no
 * byte is released before its segment was authenticated. Each file has its own key, derived
 * from the volume key and a random salt in the header.
 *
 * Layout: "WBXM" | version (1) | salt (16) | segments of (ciphertext ≤ 64 KiB | tag (16)).
 */
const MAGIC = Buffer.from('WBXM')
const VERSION = 1
const SALT_BYTES = 16
const HEADER_BYTES = MAGIC.length + 1 + SALT_BYTES
const TAG_BYTES = 16
export const SEGMENT_BYTES = 64 * 1024

/** Derives the media volume key from the at-rest master key (so the two never coincide). */
export function deriveMediaKey(atRestKey: Buffer): Buffer {
  if (atRestKey.length !== 32) throw new Error('The at-rest key must be 32 bytes')
  return Buffer.from(hkdfSync('sha256', atRestKey, Buffer.alloc(0), 'wabox media volume v1', 32))
}

function fileKey(volumeKey: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', volumeKey, salt, 'wabox media file v1', 32))
}

function iv(counter: number, last: boolean): Buffer {
  const out = Buffer.alloc(12)
  out.writeUInt32BE(counter, 7)
  out[11] = last ? 1 : 0
  return out
}

/** Plaintext in, sealed file bytes out. */
export function createSealStream(volumeKey: Buffer): Transform {
  const salt = randomBytes(SALT_BYTES)
  const header = Buffer.concat([MAGIC, Buffer.of(VERSION), salt])
  const key = fileKey(volumeKey, salt)
  let pending: Buffer = Buffer.alloc(0)
  let counter = 0
  let started = false

  const sealSegment = (plain: Buffer, last: boolean): Buffer => {
    const cipher = createCipheriv('aes-256-gcm', key, iv(counter++, last))
    cipher.setAAD(header)
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()])
  }

  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (!started) {
        started = true
        this.push(header)
      }
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      // a segment is sealed as "not last" only once we know more bytes follow it
      while (pending.length > SEGMENT_BYTES) {
        this.push(sealSegment(pending.subarray(0, SEGMENT_BYTES), false))
        pending = pending.subarray(SEGMENT_BYTES)
      }
      done()
    },
    flush(done: TransformCallback) {
      if (!started) this.push(header)
      this.push(sealSegment(pending, true))
      done()
    },
  })
}

/** Sealed file bytes in, plaintext out; errors if anything was altered. */
export function createOpenStream(volumeKey: Buffer): Transform {
  let header: Buffer | undefined
  let key: Buffer | undefined
  let pending: Buffer = Buffer.alloc(0)
  let counter = 0
  const sealedSegment = SEGMENT_BYTES + TAG_BYTES

  const openSegment = (sealed: Buffer, last: boolean): Buffer => {
    if (!header || !key || sealed.length < TAG_BYTES) throw new Error('media file is truncated')
    const decipher = createDecipheriv('aes-256-gcm', key, iv(counter++, last))
    decipher.setAAD(header)
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()])
  }
  const corrupted = (err: unknown) => new Error('media file is corrupted or was tampered with', { cause: err })

  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      try {
        if (!header) {
          if (pending.length < HEADER_BYTES) return done()
          header = Buffer.from(pending.subarray(0, HEADER_BYTES))
          if (!header.subarray(0, MAGIC.length).equals(MAGIC) || header[MAGIC.length] !== VERSION) {
            return done(new Error('not a wabox media file'))
          }
          key = fileKey(volumeKey, header.subarray(MAGIC.length + 1))
          pending = pending.subarray(HEADER_BYTES)
        }
        while (pending.length > sealedSegment) {
          this.push(openSegment(pending.subarray(0, sealedSegment), false))
          pending = pending.subarray(sealedSegment)
        }
        done()
      } catch (err) {
        done(corrupted(err))
      }
    },
    flush(done: TransformCallback) {
      try {
        if (!header) return done(new Error('media file is truncated'))
        this.push(openSegment(pending, true))
        done()
      } catch (err) {
        done(corrupted(err))
      }
    },
  })
}
