import type { LocalIdentity, RemoteIdentity, SignalStateStore } from './state-store.js'

/**
 * Holds one operation's writes over a store until `flush`: what the operation read stays on
 * disk until its result is kept elsewhere. Reads see the held writes first.
 */
export class StagedSignalStore implements SignalStateStore {
  readonly #base: SignalStateStore
  #local: LocalIdentity | undefined
  readonly #remotes = new Map<string, RemoteIdentity>()
  readonly #sessions = new Map<string, Uint8Array | null>()
  readonly #preKeys = new Map<number, Uint8Array | null>()
  readonly #signedPreKeys = new Map<number, Uint8Array>()
  readonly #kyberPreKeys = new Map<number, { record: Uint8Array; lastResort: boolean }>()
  readonly #kyberUsed = new Set<number>()

  constructor(base: SignalStateStore) {
    this.#base = base
  }

  /**
   * Writes the held changes to the base store. Sessions and identities go first, spent
   * pre-keys last: an interrupted flush leaves a spent key behind, never a session without
   * the key its next pre-key message names.
   */
  async flush(): Promise<void> {
    if (this.#local) await this.#base.setLocalIdentity(this.#local)
    for (const [address, identity] of this.#remotes) await this.#base.setRemoteIdentity(address, identity)
    for (const [address, record] of this.#sessions) await (record ? this.#base.setSession(address, record) : this.#base.removeSession(address))
    for (const [id, record] of this.#signedPreKeys) await this.#base.setSignedPreKey(id, record)
    for (const [id, { record, lastResort }] of this.#kyberPreKeys) await this.#base.setKyberPreKey(id, record, lastResort)
    for (const [id, record] of this.#preKeys) await (record ? this.#base.setPreKey(id, record) : this.#base.removePreKey(id))
    for (const id of this.#kyberUsed) await this.#base.markKyberPreKeyUsed(id)
  }

  async getLocalIdentity(): Promise<LocalIdentity | null> {
    return this.#local ?? this.#base.getLocalIdentity()
  }

  async setLocalIdentity(identity: LocalIdentity): Promise<void> {
    this.#local = identity
  }

  async getRemoteIdentity(address: string): Promise<RemoteIdentity | null> {
    return this.#remotes.get(address) ?? this.#base.getRemoteIdentity(address)
  }

  async setRemoteIdentity(address: string, identity: RemoteIdentity): Promise<void> {
    this.#remotes.set(address, identity)
  }

  async getPreKey(id: number): Promise<Uint8Array | null> {
    return this.#preKeys.has(id) ? this.#preKeys.get(id)! : this.#base.getPreKey(id)
  }

  async setPreKey(id: number, record: Uint8Array): Promise<void> {
    this.#preKeys.set(id, record)
  }

  async removePreKey(id: number): Promise<void> {
    this.#preKeys.set(id, null)
  }

  async getSignedPreKey(id: number): Promise<Uint8Array | null> {
    return this.#signedPreKeys.get(id) ?? this.#base.getSignedPreKey(id)
  }

  async setSignedPreKey(id: number, record: Uint8Array): Promise<void> {
    this.#signedPreKeys.set(id, record)
  }

  async getKyberPreKey(id: number): Promise<Uint8Array | null> {
    // a key marked used here is still readable, as it is in every store until the flush
    return this.#kyberPreKeys.get(id)?.record ?? this.#base.getKyberPreKey(id)
  }

  async setKyberPreKey(id: number, record: Uint8Array, lastResort: boolean): Promise<void> {
    this.#kyberPreKeys.set(id, { record, lastResort })
  }

  async markKyberPreKeyUsed(id: number): Promise<void> {
    this.#kyberUsed.add(id)
  }

  async getSession(address: string): Promise<Uint8Array | null> {
    return this.#sessions.has(address) ? this.#sessions.get(address)! : this.#base.getSession(address)
  }

  async setSession(address: string, record: Uint8Array): Promise<void> {
    this.#sessions.set(address, record)
  }

  async removeSession(address: string): Promise<void> {
    this.#sessions.set(address, null)
  }
}
