import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { pooledRandomBytes } from '../ids.js'
import { privateDir } from '../private-files.js'

const VERSION = 1
const IV_BYTES = 12
const TAG_BYTES = 16

/** AES-256-GCM for data at rest: message bodies, callback payloads, media files, secrets. */
export class Sealer {
  // a KeyObject is converted once, not on every cipher
  readonly #key: KeyObject

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('The at-rest key must be 32 bytes')
    this.#key = createSecretKey(key)
  }

  /** Layout: version (1) | iv (12) | tag (16) | ciphertext. IVs are random, never reused. */
  seal(plain: Uint8Array | string): Buffer {
    const iv = pooledRandomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    const body = cipher.update(plain)
    cipher.final()
    return Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), body])
  }

  open(sealed: Uint8Array): Buffer {
    const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
    if (buf[0] !== VERSION) throw new Error(`Unknown sealed-data version ${buf[0]}`)
    const iv = buf.subarray(1, 1 + IV_BYTES)
    const tag = buf.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES)
    const decipher = createDecipheriv('aes-256-gcm', this.#key, iv)
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(buf.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()])
  }

  sealJson(value: unknown): Buffer {
    return this.seal(JSON.stringify(value))
  }

  openJson<T>(sealed: Uint8Array): T {
    return JSON.parse(this.open(sealed).toString('utf8')) as T
  }
}

/** `master.key` is not a key: a clear refusal instead of a store whose every read fails. */
export class BadKeyFileError extends Error {}

/**
 * The configured key, or the key file in the data directory, created with mode 0600 on
 * first use. Every process sharing one database must share one key.
 */
export function loadAtRestKey(configured: Buffer | undefined, dataDir: string): Buffer {
  if (configured) return configured
  const file = path.join(dataDir, 'master.key')
  try {
    return parseKeyFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  privateDir(dataDir)
  const key = randomBytes(32)
  try {
    fs.writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' })
    return key
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return parseKeyFile(file)
    throw err
  }
}

function parseKeyFile(file: string): Buffer {
  const text = fs.readFileSync(file, 'utf8').trim()
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new BadKeyFileError(`${file} is not a master key (it must hold 64 hex digits): restore the original file from a backup; without it the encrypted data cannot be read`)
  }
  return Buffer.from(text, 'hex')
}
