import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { pooledRandomBytes } from '../ids.js'
import { privateDir } from '../private-files.js'

const LEGACY_VERSION = 1
const VERSION = 2
const KEY_ID_BYTES = 4
const IV_BYTES = 12
const TAG_BYTES = 16
const VERSION_BYTE = Buffer.of(VERSION)

/** A key's public name: 4 bytes derived from it, carried by every value it seals. */
export function keyIdOf(key: Buffer): string {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'wabox key id v1', KEY_ID_BYTES)).toString('hex')
}

/** The data key of a region, derived from a master key, so each region's data has its own key. */
export function regionKey(masterKey: Buffer, region: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `wabox region data key v1:${region}`, 32))
}

interface RingKey {
  id: string
  /** `id` as the bytes a sealed value carries. */
  idBytes: Buffer
  key: KeyObject
}

/** The master key files: the current key, and a rotation's next key once staged. */
export interface KeyFiles {
  current: Buffer
  next: Buffer | undefined
}

/** Where a sealer's keys come from while it runs: the files when they changed since the last call (always on the first), else undefined. */
export interface KeySource {
  changed(): KeyFiles | undefined
}

/**
 * AES-256-GCM for data at rest: message bodies, callback payloads, secrets. A keyring: seals
 * with the primary key and opens with any key of the ring, so a master-key rotation can
 * re-seal values in batches while reads accept both keys (store/key-rotation.ts). A running
 * process adopts a new ring in place (`adopt`, `refresh`); region sealers follow their parent.
 */
export class Sealer {
  // KeyObjects are converted once per ring, not on every cipher
  #primary!: RingKey
  #ring!: RingKey[]
  #raw!: Buffer[]
  #generation = 0
  readonly #source: KeySource | undefined
  #region: { parent: Sealer; name: string; generation: number } | undefined
  #files: KeyFiles | undefined
  /** The key the database says to seal with (key-rotation.ts), once told. */
  #sealWith: string | undefined
  /** Values sealed ahead of the transaction that stores them, by the bytes object (`sealAhead`). */
  readonly #ahead = new WeakMap<Uint8Array, { id: string; sealed: Buffer }>()

  constructor(key: Buffer, older: readonly Buffer[] = [], source?: KeySource) {
    this.#source = source
    this.#set(key, older)
  }

  /** Id of the key new values are sealed with. */
  get keyId(): string {
    this.#sync()
    return this.#primary.id
  }

  /** The same ring for one region's data keys; it follows this ring when it changes. */
  forRegion(region: string): Sealer {
    this.#sync()
    const [primary, ...older] = this.#raw.map((k) => regionKey(k, region))
    const view = new Sealer(primary!, older)
    view.#region = { parent: this, name: region, generation: this.#generation }
    return view
  }

  /** Seals with `primary` from now on and opens with it and `older`: a rotation's next key, or the ring without the dropped key. */
  adopt(primary: Buffer, older: readonly Buffer[] = []): void {
    if (this.#region) throw new Error('a region sealer follows its parent: adopt keys there')
    this.#set(primary, older)
  }

  /**
   * Re-reads the key files if they changed and seals with `sealWith` (the id the database
   * names; omitted: as told last) when the files hold it, else with the current key. A staged
   * key is held for reading before it seals, so every process opens values another sealed with
   * it. A ring whose files cannot be read is kept.
   */
  refresh(sealWith?: string): void {
    if (!this.#source) return
    if (sealWith !== undefined) this.#sealWith = sealWith
    try {
      this.#files = this.#source.changed() ?? this.#files
    } catch {
      // a damaged key file: keep the ring; the rotation names this node as not adopting
    }
    if (!this.#files) return
    const { current, next } = this.#files
    const keys = next && !next.equals(current) ? [current, next] : [current]
    const sealing = keys.find((k) => keyIdOf(k) === this.#sealWith) ?? current
    const ring = [sealing, ...keys.filter((k) => k !== sealing)]
    if (ring.length !== this.#raw.length || ring.some((k, i) => !k.equals(this.#raw[i]!))) this.#set(ring[0]!, ring.slice(1))
  }

  /** Layout: version (2) | key id (4) | iv (12) | tag (16) | ciphertext. IVs are random, never reused. */
  seal(plain: Uint8Array | string): Buffer {
    this.#sync()
    const primary = this.#primary
    if (typeof plain !== 'string') {
      const ahead = this.#ahead.get(plain)
      if (ahead?.id === primary.id) return ahead.sealed
    }
    const iv = pooledRandomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', primary.key, iv)
    const body = cipher.update(plain)
    cipher.final()
    return Buffer.concat([VERSION_BYTE, primary.idBytes, iv, cipher.getAuthTag(), body])
  }

  /**
   * Seals `plain` now, so that sealing the same object later, inside a transaction where each
   * millisecond holds up the other writers, returns this value at once (sealed afresh if the
   * key changed meanwhile). `plain` must not change afterwards.
   */
  sealAhead(plain: Uint8Array): void {
    const sealed = this.seal(plain)
    this.#ahead.set(plain, { id: this.#primary.id, sealed })
  }

  /** Whether the value is sealed with the primary key (a rotation re-seals the others). */
  isCurrent(sealed: Uint8Array): boolean {
    const buf = asBuffer(sealed)
    this.#sync()
    return buf[0] === VERSION && buf.subarray(1, 1 + KEY_ID_BYTES).toString('hex') === this.#primary.id
  }

  open(sealed: Uint8Array): Buffer {
    const buf = asBuffer(sealed)
    if (buf[0] === LEGACY_VERSION) return this.#openWithAny(buf.subarray(1))
    if (buf[0] !== VERSION) throw new Error(`Unknown sealed-data version ${buf[0]}`)
    const id = buf.subarray(1, 1 + KEY_ID_BYTES).toString('hex')
    this.#sync()
    let ring = this.#ring.find((k) => k.id === id)
    if (!ring && this.#root().#source) {
      // another process sealed with a key staged since this one's last beat: read the files now
      this.#root().refresh()
      this.#sync()
      ring = this.#ring.find((k) => k.id === id)
    }
    if (!ring) throw new Error(`sealed with key ${id}, which is not in the keyring`)
    return decrypt(ring.key, buf.subarray(1 + KEY_ID_BYTES))
  }

  // values from before key ids name no key: GCM's tag tells which one opens them
  #openWithAny(rest: Buffer): Buffer {
    this.#sync()
    const ring = this.#ring
    for (const { key } of ring.slice(0, -1)) {
      try {
        return decrypt(key, rest)
      } catch {
        // try the next key
      }
    }
    return decrypt(ring[ring.length - 1]!.key, rest)
  }

  #set(key: Buffer, older: readonly Buffer[]): void {
    const raw = [key, ...older]
    const ring = raw.map((k) => {
      if (k.length !== 32) throw new Error('The at-rest key must be 32 bytes')
      const id = keyIdOf(k)
      return { id, idBytes: Buffer.from(id, 'hex'), key: createSecretKey(k) }
    })
    this.#raw = raw
    this.#ring = ring
    this.#primary = ring[0]!
    this.#generation++
  }

  /** A region view re-derives its keys once its parent adopted new ones. */
  #root(): Sealer {
    return this.#region ? this.#region.parent.#root() : this
  }

  #sync(): void {
    const region = this.#region
    if (!region) return
    const parent = region.parent
    parent.#sync()
    if (region.generation === parent.#generation) return
    const [primary, ...older] = parent.#raw.map((k) => regionKey(k, region.name))
    this.#set(primary!, older)
    region.generation = parent.#generation
  }

  sealJson(value: unknown): Buffer {
    return this.seal(JSON.stringify(value))
  }

  openJson<T>(sealed: Uint8Array): T {
    return JSON.parse(this.open(sealed).toString('utf8')) as T
  }
}

function asBuffer(sealed: Uint8Array): Buffer {
  return Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
}

/** iv | tag | ciphertext */
function decrypt(key: KeyObject, rest: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, rest.subarray(0, IV_BYTES))
  decipher.setAuthTag(rest.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
  return Buffer.concat([decipher.update(rest.subarray(IV_BYTES + TAG_BYTES)), decipher.final()])
}

/** `master.key` is not a key: a clear refusal instead of a store whose every read fails. */
export class BadKeyFileError extends Error {}

/**
 * The configured key, or the key file in the data directory, created with mode 0600 on
 * first use. Every process sharing one database must share one key.
 */
export function loadAtRestKey(configured: Buffer | undefined, dataDir: string): Buffer {
  if (configured) return configured
  const file = masterKeyFile(dataDir)
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

export function masterKeyFile(dataDir: string): string {
  return path.join(dataDir, 'master.key')
}

/** Written first by `wabox keys rotate-master`; renamed over master.key when nothing uses the old key any more. */
export function nextMasterKeyFile(dataDir: string): string {
  return path.join(dataDir, 'master.key.next')
}

/**
 * The keyring of this deployment: the master key, and while a rotation is under way the next
 * key first (new values are sealed with it) and the current one after it.
 */
export function loadAtRestKeys(configured: Buffer | undefined, dataDir: string): { primary: Buffer; older: Buffer[] } {
  return keyringOf(loadAtRestKey(configured, dataDir), readKeyFile(nextMasterKeyFile(dataDir)))
}

/** The current key alone, or with a staged next key first (it seals, the current one still opens). */
export function keyringOf(current: Buffer, next: Buffer | undefined): { primary: Buffer; older: Buffer[] } {
  return next && !next.equals(current) ? { primary: next, older: [current] } : { primary: current, older: [] }
}

/** The key in the file, or undefined when there is no such file. */
export function readKeyFile(file: string): Buffer | undefined {
  try {
    return parseKeyFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
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
