import type { LocalIdentity, RemoteIdentity, SignalStateStore } from '../signal/state-store.js'
import { emptySignalChanges, type SignalChanges } from '../store/signal-state.js'
import type { Store } from '../store/store.js'

const MAX_CACHED_SESSIONS = 50_000

/**
 * The committed Signal state of one number, cached in memory over the SQL tables. Only the
 * shard owner touches a remote's session, so the cache is authoritative for the remotes this
 * process serves; it is cleared whenever shard ownership changes.
 */
export class SignalCache {
  readonly #store: Store
  readonly phoneNumberId: string
  #local: LocalIdentity | null | undefined
  // null = known to be absent
  readonly #sessions = new Map<string, Uint8Array | null>()
  readonly #remotes = new Map<string, RemoteIdentity | null>()

  constructor(store: Store, phoneNumberId: string) {
    this.#store = store
    this.phoneNumberId = phoneNumberId
  }

  async local(): Promise<LocalIdentity | null> {
    if (this.#local === undefined) this.#local = await this.#store.signal.local(this.phoneNumberId)
    return this.#local
  }

  async session(address: string): Promise<Uint8Array | null> {
    const cached = this.#sessions.get(address)
    if (cached !== undefined) return cached
    const record = await this.#store.signal.session(this.phoneNumberId, address)
    this.#remember(address, record)
    return record
  }

  /** Loads the sessions of a batch's recipients in one query. */
  async prefetch(addresses: string[]): Promise<void> {
    const missing = [...new Set(addresses)].filter((a) => !this.#sessions.has(a))
    if (missing.length === 0) return
    const found = await this.#store.signal.sessions(this.phoneNumberId, missing)
    for (const a of missing) this.#remember(a, found.get(a) ?? null)
  }

  async remote(address: string): Promise<RemoteIdentity | null> {
    const cached = this.#remotes.get(address)
    if (cached !== undefined) return cached
    const known = await this.#store.signal.remoteIdentity(this.phoneNumberId, address)
    if (this.#remotes.size >= MAX_CACHED_SESSIONS) this.#remotes.clear()
    this.#remotes.set(address, known)
    return known
  }

  /** Pre-keys are read once per new session: straight from the database. */
  key(kind: 'pre' | 'signed' | 'kyber', id: number): Promise<Uint8Array | null> {
    return this.#store.signal.key(this.phoneNumberId, kind, id)
  }

  /** Folds committed changes in; call only after the transaction that wrote them committed. */
  apply(changes: SignalChanges): void {
    if (changes.local) this.#local = changes.local
    for (const [address, identity] of changes.remoteIdentities) this.#remotes.set(address, identity)
    for (const [address, record] of changes.sessions) this.#remember(address, record)
  }

  clear(): void {
    this.#local = undefined
    this.#sessions.clear()
    this.#remotes.clear()
  }

  #remember(address: string, record: Uint8Array | null): void {
    // evict the oldest entries; Map keeps insertion order
    this.#sessions.delete(address)
    if (this.#sessions.size >= MAX_CACHED_SESSIONS) {
      const oldest = this.#sessions.keys().next().value
      if (oldest !== undefined) this.#sessions.delete(oldest)
    }
    this.#sessions.set(address, record)
  }
}

/**
 * A SignalStateStore for one unit of work (one recipient's batch, one inbound envelope): reads
 * see its own writes first, then the committed cache; writes are only collected. The unit
 * persists `changes` in the transaction that stores what the operation produced, then folds
 * them into the cache — so no ratchet step is ever durable without its message.
 */
export class OverlaySignalStore implements SignalStateStore {
  readonly changes: SignalChanges = emptySignalChanges()
  readonly #cache: SignalCache
  readonly #localOverride: LocalIdentity | undefined

  /** `local` replaces the stored identity for this unit (key generation reserves its ids first). */
  constructor(cache: SignalCache, local?: LocalIdentity) {
    this.#cache = cache
    this.#localOverride = local
  }

  async getLocalIdentity(): Promise<LocalIdentity | null> {
    return this.changes.local ?? this.#localOverride ?? (await this.#cache.local())
  }

  async setLocalIdentity(identity: LocalIdentity): Promise<void> {
    this.changes.local = identity
  }

  async getRemoteIdentity(address: string): Promise<RemoteIdentity | null> {
    return this.changes.remoteIdentities.get(address) ?? (await this.#cache.remote(address))
  }

  async setRemoteIdentity(address: string, identity: RemoteIdentity): Promise<void> {
    this.changes.remoteIdentities.set(address, identity)
  }

  async getPreKey(id: number): Promise<Uint8Array | null> {
    if (this.changes.preKeys.has(id)) return this.changes.preKeys.get(id) ?? null
    return this.#cache.key('pre', id)
  }

  async setPreKey(id: number, record: Uint8Array): Promise<void> {
    this.changes.preKeys.set(id, record)
  }

  async removePreKey(id: number): Promise<void> {
    this.changes.preKeys.set(id, null)
  }

  async getSignedPreKey(id: number): Promise<Uint8Array | null> {
    return this.changes.signedPreKeys.get(id) ?? (await this.#cache.key('signed', id))
  }

  async setSignedPreKey(id: number, record: Uint8Array): Promise<void> {
    this.changes.signedPreKeys.set(id, record)
  }

  async getKyberPreKey(id: number): Promise<Uint8Array | null> {
    const own = this.changes.kyberPreKeys.get(id)
    if (own) return own.record
    // a key marked used in this unit is still readable: a last-resort key is never deleted
    return this.#cache.key('kyber', id)
  }

  async setKyberPreKey(id: number, record: Uint8Array, lastResort: boolean): Promise<void> {
    this.changes.kyberPreKeys.set(id, { record, lastResort })
  }

  async markKyberPreKeyUsed(id: number): Promise<void> {
    const own = this.changes.kyberPreKeys.get(id)
    if (own?.lastResort) return
    this.changes.kyberPreKeys.set(id, null)
  }

  async getSession(address: string): Promise<Uint8Array | null> {
    if (this.changes.sessions.has(address)) return this.changes.sessions.get(address) ?? null
    return this.#cache.session(address)
  }

  async setSession(address: string, record: Uint8Array): Promise<void> {
    this.changes.sessions.set(address, record)
  }

  async removeSession(address: string): Promise<void> {
    this.changes.sessions.set(address, null)
  }
}
