import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import type { MediaRef } from '../wire/content.js'

const TAG_BYTES = 16

export interface EncryptedMedia {
  /** AES-256-GCM ciphertext with the 16-byte tag appended; what goes to the blob store. */
  ciphertext: Uint8Array
  key: Uint8Array
  iv: Uint8Array
  /** sha256 of the plaintext, hex. */
  sha256: string
}

/** Encrypts one media file under a fresh key, as a sender does before uploading the blob. */
export function encryptMedia(bytes: Uint8Array): EncryptedMedia {
  const key = randomBytes(32)
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const ciphertext = Buffer.concat([cipher.update(bytes), cipher.final(), cipher.getAuthTag()])
  return { ciphertext, key, iv, sha256: sha256Hex(bytes) }
}

/** Decrypts a downloaded blob; throws if the tag or the plaintext sha256 does not match `ref`. */
export function decryptMedia(ciphertext: Uint8Array, ref: Pick<MediaRef, 'key' | 'iv' | 'sha256'>): Uint8Array {
  if (ciphertext.length < TAG_BYTES) throw new Error('media ciphertext is too short')
  const decipher = createDecipheriv('aes-256-gcm', ref.key, ref.iv)
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES))
  const plaintext = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_BYTES)), decipher.final()])
  if (sha256Hex(plaintext) !== ref.sha256) throw new Error('media sha256 mismatch')
  return plaintext
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}
