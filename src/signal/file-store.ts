import { unlinkSync, writeFileSync } from 'node:fs'
import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { readFileIfExists, writeFileAtomic } from './atomic-file.js'
import { KeyedQueue } from './keyed-queue.js'
import { SlotFile } from './slot-file.js'
import type { LocalIdentity, RemoteIdentity, SignalStateStore } from './state-store.js'

const LOCAL = 'local.json'
const DIRS = ['identities', 'sessions', 'prekeys', 'signed-prekeys', 'kyber-prekeys', 'kyber-last-resort'] as const

/**
 * Signal state as one file per record under one directory (a simulated phone's folder).
 * Replacing a record is temp file + rename, so a crash leaves the old or the new record;
 * sessions, rewritten after every message, use two slot files instead (slot-file.ts).
 *
 * The directory must have a single owner: it is listed once when the store opens and then
 * reads are served from a write-through cache, so a record that does not exist (a new peer's
 * session or identity) costs no failed open. A record that did not exist before is written
 * in place without temp file and rename (unless fsync is on): a crash mid-write can tear only
 * a record nothing refers to yet (pre-keys are uploaded after their files are written, a
 * session is saved after its identity), and a torn identity reads as unknown.
 */
export class FileSignalStore implements SignalStateStore {
  readonly #dir: string
  readonly #fsync: boolean
  readonly #cache = new Map<string, Uint8Array | null>()
  readonly #writes = new KeyedQueue()
  readonly #slots = new Map<string, SlotFile>()
  /**
   * Remote identities as decoded objects, read on every message: handing back the same object
   * (as the memory store does) lets the caller's decoded-key cache hit instead of parsing
   * JSON and a public key per message.
   */
  readonly #identities = new Map<string, RemoteIdentity | null>()
  /** Files present when the store opened; consulted only for records not cached yet. */
  #listing: Promise<Set<string>> | null = null
  /** Folders the listing did not find, created before the first write. */
  readonly #missingDirs: string[] = []
  #dirsReady: Promise<unknown> | null = null
  /** The folders exist: a session save, once per message, skips awaiting that. */
  #dirsMade = false

  /** `fsync: false` trades power-loss durability for speed (process crashes stay safe). */
  constructor(dir: string, opts: { fsync?: boolean } = {}) {
    this.#dir = dir
    this.#fsync = opts.fsync ?? true
  }

  get dir(): string {
    return this.#dir
  }

  async getLocalIdentity(): Promise<LocalIdentity | null> {
    const json = await this.#readJson<{ identityKeyPair: string; registrationId: number; nextKeyId: number }>(LOCAL)
    if (!json) return null
    return { ...json, identityKeyPair: fromBase64(json.identityKeyPair) }
  }

  async setLocalIdentity(identity: LocalIdentity): Promise<void> {
    await this.#writeJson(LOCAL, { ...identity, identityKeyPair: toBase64(identity.identityKeyPair) })
  }

  async getRemoteIdentity(address: string): Promise<RemoteIdentity | null> {
    const cached = this.#identities.get(address)
    if (cached !== undefined) return cached
    const rel = addressFile('identities', address, 'json')
    // written in place when new: a torn file is an identity not saved yet (trust on first use again)
    const json = await this.#readJson<{ publicKey: string; firstSeenAt: number }>(rel).catch((err: unknown) => {
      if (err instanceof SyntaxError) return null
      throw err
    })
    // a save that landed while we read wins
    if (!this.#identities.has(address)) this.#identities.set(address, json && { publicKey: fromBase64(json.publicKey), firstSeenAt: json.firstSeenAt })
    return this.#identities.get(address) ?? null
  }

  async setRemoteIdentity(address: string, identity: RemoteIdentity): Promise<void> {
    this.#identities.set(address, identity)
    await this.#writeJson(addressFile('identities', address, 'json'), {
      publicKey: toBase64(identity.publicKey),
      firstSeenAt: identity.firstSeenAt,
    })
  }

  getPreKey(id: number): Promise<Uint8Array | null> {
    return this.#read(keyFile('prekeys', id))
  }

  setPreKey(id: number, record: Uint8Array): Promise<void> {
    return this.#write(keyFile('prekeys', id), record)
  }

  removePreKey(id: number): Promise<void> {
    return this.#write(keyFile('prekeys', id), null)
  }

  getSignedPreKey(id: number): Promise<Uint8Array | null> {
    return this.#read(keyFile('signed-prekeys', id))
  }

  setSignedPreKey(id: number, record: Uint8Array): Promise<void> {
    return this.#write(keyFile('signed-prekeys', id), record)
  }

  async getKyberPreKey(id: number): Promise<Uint8Array | null> {
    return (await this.#read(keyFile('kyber-prekeys', id))) ?? (await this.#read(keyFile('kyber-last-resort', id)))
  }

  setKyberPreKey(id: number, record: Uint8Array, lastResort: boolean): Promise<void> {
    return this.#write(keyFile(lastResort ? 'kyber-last-resort' : 'kyber-prekeys', id), record)
  }

  // Last-resort keys live in their own folder, so removing the one-time file is all it takes.
  markKyberPreKeyUsed(id: number): Promise<void> {
    return this.#write(keyFile('kyber-prekeys', id), null)
  }

  async getSession(address: string): Promise<Uint8Array | null> {
    const rel = addressFile('sessions', address, 'bin')
    const cached = this.#cache.get(rel)
    if (cached !== undefined) return cached
    const listing = await this.#list()
    let bytes: Uint8Array | null = null
    if (listing.has(`${rel}.0`) || listing.has(`${rel}.1`)) bytes = this.#slot(rel).read()
    // a session saved before slot files existed is a plain file: read until first rewritten
    if (!bytes && listing.has(rel)) bytes = await readFileIfExists(join(this.#dir, rel))
    if (!this.#cache.has(rel)) this.#cache.set(rel, bytes)
    return this.#cache.get(rel) ?? null
  }

  async setSession(address: string, record: Uint8Array): Promise<void> {
    const rel = addressFile('sessions', address, 'bin')
    if (!this.#dirsMade) await this.#ensureDirs()
    this.#cache.set(rel, record)
    await this.#writes.run(rel, () => this.#slot(rel).write(record, { fsync: this.#fsync }))
  }

  async removeSession(address: string): Promise<void> {
    const rel = addressFile('sessions', address, 'bin')
    this.#cache.set(rel, null)
    const listing = await this.#list()
    await this.#writes.run(rel, async () => {
      this.#slot(rel).remove()
      if (listing.delete(rel)) unlinkIfExists(join(this.#dir, rel))
    })
  }

  /** Closes the session files' descriptors kept open between writes (a later write reopens them). */
  close(): void {
    for (const slot of this.#slots.values()) slot.close()
  }

  #slot(rel: string): SlotFile {
    let slot = this.#slots.get(rel)
    if (!slot) this.#slots.set(rel, (slot = new SlotFile(join(this.#dir, rel))))
    return slot
  }

  #ensureDirs(): Promise<unknown> {
    this.#dirsReady ??= this.#list()
      .then(() => Promise.all(this.#missingDirs.map((d) => mkdir(join(this.#dir, d), { recursive: true, mode: 0o700 }))))
      .then(() => (this.#dirsMade = true))
    return this.#dirsReady
  }

  /** One readdir per folder, the first time anything is read or written. */
  #list(): Promise<Set<string>> {
    this.#listing ??= (async () => {
      const listing = new Set<string>()
      for (const sub of ['.', ...DIRS]) {
        const names = await readdirIfExists(join(this.#dir, sub))
        if (!names) this.#missingDirs.push(sub)
        for (const name of names ?? []) listing.add(join(sub, name))
      }
      return listing
    })()
    return this.#listing
  }

  async #read(rel: string): Promise<Uint8Array | null> {
    const cached = this.#cache.get(rel)
    if (cached !== undefined) return cached
    const bytes = (await this.#list()).has(rel) ? await readFileIfExists(join(this.#dir, rel)) : null
    // a write may have landed while we read; it wins
    if (!this.#cache.has(rel)) this.#cache.set(rel, bytes)
    return this.#cache.get(rel) ?? null
  }

  /** Writes (or, with null, deletes) one record; resolves once it is on disk. */
  async #write(rel: string, bytes: Uint8Array | null): Promise<void> {
    const listing = await this.#list()
    // whether the file exists once the writes queued before this one have landed
    const cached = this.#cache.get(rel)
    const exists = cached === undefined ? listing.has(rel) : cached !== null
    this.#cache.set(rel, bytes)
    if (!bytes && !exists) return
    await this.#ensureDirs()
    const path = join(this.#dir, rel)
    await this.#writes.run(rel, async () => {
      if (!bytes) unlinkIfExists(path)
      else if (exists || this.#fsync || rel === LOCAL) await writeFileAtomic(path, bytes, { fsync: this.#fsync })
      else writeFileSync(path, bytes, { mode: 0o600 })
    })
  }

  async #readJson<T>(rel: string): Promise<T | null> {
    const bytes = await this.#read(rel)
    return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as T) : null
  }

  #writeJson(rel: string, value: unknown): Promise<void> {
    return this.#write(rel, Buffer.from(JSON.stringify(value)))
  }
}

async function readdirIfExists(path: string): Promise<string[] | null> {
  try {
    return await readdir(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

// one unlink, inline like the writes (rmSync with force stats the path twice first)
function unlinkIfExists(path: string): void {
  try {
    unlinkSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}

function addressFile(dir: (typeof DIRS)[number], address: string, ext: string): string {
  return join(dir, `${encodeURIComponent(address)}.${ext}`)
}

function keyFile(dir: (typeof DIRS)[number], id: number): string {
  return join(dir, `${id}.bin`)
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64')
}

function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'))
}
