import type { LocalIdentity, RemoteIdentity, SignalStateStore } from './state-store.js'

/** Signal state held in memory: tests, benchmarks and throwaway accounts. */
export class MemorySignalStore implements SignalStateStore {
  #local: LocalIdentity | null = null
  readonly #identities = new Map<string, RemoteIdentity>()
  readonly #preKeys = new Map<number, Uint8Array>()
  readonly #signedPreKeys = new Map<number, Uint8Array>()
  readonly #kyberPreKeys = new Map<number, { record: Uint8Array; lastResort: boolean }>()
  readonly #sessions = new Map<string, Uint8Array>()

  async getLocalIdentity(): Promise<LocalIdentity | null> {
    return this.#local
  }

  async setLocalIdentity(identity: LocalIdentity): Promise<void> {
    this.#local = identity
  }

  async getRemoteIdentity(address: string): Promise<RemoteIdentity | null> {
    return this.#identities.get(address) ?? null
  }

  async setRemoteIdentity(address: string, identity: RemoteIdentity): Promise<void> {
    this.#identities.set(address, identity)
  }

  async getPreKey(id: number): Promise<Uint8Array | null> {
    return this.#preKeys.get(id) ?? null
  }

  async setPreKey(id: number, record: Uint8Array): Promise<void> {
    this.#preKeys.set(id, record)
  }

  async removePreKey(id: number): Promise<void> {
    this.#preKeys.delete(id)
  }

  async getSignedPreKey(id: number): Promise<Uint8Array | null> {
    return this.#signedPreKeys.get(id) ?? null
  }

  async setSignedPreKey(id: number, record: Uint8Array): Promise<void> {
    this.#signedPreKeys.set(id, record)
  }

  async getKyberPreKey(id: number): Promise<Uint8Array | null> {
    return this.#kyberPreKeys.get(id)?.record ?? null
  }

  async setKyberPreKey(id: number, record: Uint8Array, lastResort: boolean): Promise<void> {
    this.#kyberPreKeys.set(id, { record, lastResort })
  }

  async markKyberPreKeyUsed(id: number): Promise<void> {
    if (this.#kyberPreKeys.get(id)?.lastResort === false) this.#kyberPreKeys.delete(id)
  }

  async getSession(address: string): Promise<Uint8Array | null> {
    return this.#sessions.get(address) ?? null
  }

  async setSession(address: string, record: Uint8Array): Promise<void> {
    this.#sessions.set(address, record)
  }

  async removeSession(address: string): Promise<void> {
    this.#sessions.delete(address)
  }
}
