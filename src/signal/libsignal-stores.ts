import {
  type Direction,
  IdentityChange,
  IdentityKeyPair,
  IdentityKeyStore,
  KyberPreKeyRecord,
  KyberPreKeyStore,
  PreKeyRecord,
  PreKeyStore,
  type PrivateKey,
  type ProtocolAddress,
  PublicKey,
  SessionRecord,
  SessionStore,
  SignedPreKeyRecord,
  SignedPreKeyStore,
} from '@signalapp/libsignal-client'
import type { Clock } from '../clock.js'
import type { SignalStateStore } from './state-store.js'

/** libsignal wants bytes backed by a plain ArrayBuffer; copy only when they are not. */
export function arrayBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes)
}

// What stored bytes decode to, keyed by the bytes object itself: the stores hand back the
// object they were given, so the next operation on a session or identity skips decoding it
// (a tenth of the engine's Signal work). Safe to share: libsignal copies a record it loads,
// and bytes that were rolled back are other objects, decoded afresh.
const decodedSessions = new WeakMap<Uint8Array, SessionRecord>()
const decodedKeys = new WeakMap<Uint8Array, PublicKey>()
// the engine opens an account per recipient's batch over the same cached local identity
const decodedPairs = new WeakMap<Uint8Array, IdentityKeyPair>()

function publicKeyOf(bytes: Uint8Array): PublicKey {
  let key = decodedKeys.get(bytes)
  if (!key) decodedKeys.set(bytes, (key = PublicKey.deserialize(arrayBytes(bytes))))
  return key
}

export class StoreIdentityKeyStore extends IdentityKeyStore {
  readonly #store: SignalStateStore
  readonly #clock: Clock
  #local: { pair: IdentityKeyPair; registrationId: number } | null = null
  // keys that replaced a different stored key, until the caller takes them; SignalAccount
  // runs one operation per remote at a time, so the entry belongs to the running operation
  readonly #changes = new Map<string, Uint8Array>()

  readonly #localFrom: StoreIdentityKeyStore | undefined

  /** `localFrom`: a store over the same account whose decoded local identity this one shares. */
  constructor(store: SignalStateStore, clock: Clock, localFrom?: StoreIdentityKeyStore) {
    super()
    this.#store = store
    this.#clock = clock
    this.#localFrom = localFrom
  }

  async #loadLocal(): Promise<{ pair: IdentityKeyPair; registrationId: number }> {
    if (this.#local) return this.#local
    if (this.#localFrom) return (this.#local = await this.#localFrom.#loadLocal())
    const local = await this.#store.getLocalIdentity()
    if (!local) throw new Error('Signal account has no local identity')
    let pair = decodedPairs.get(local.identityKeyPair)
    if (!pair) decodedPairs.set(local.identityKeyPair, (pair = IdentityKeyPair.deserialize(arrayBytes(local.identityKeyPair))))
    this.#local = { pair, registrationId: local.registrationId }
    return this.#local
  }

  override async getIdentityKey(): Promise<PrivateKey> {
    return (await this.#loadLocal()).pair.privateKey
  }

  override async getIdentityKeyPair(): Promise<IdentityKeyPair> {
    return (await this.#loadLocal()).pair
  }

  override async getLocalRegistrationId(): Promise<number> {
    return (await this.#loadLocal()).registrationId
  }

  /** Trust on first use; a changed key replaces the old one and is reported by the caller. */
  override async saveIdentity(name: ProtocolAddress, key: PublicKey): Promise<IdentityChange> {
    const address = name.name()
    const known = await this.#store.getRemoteIdentity(address)
    if (known && publicKeyOf(known.publicKey).equals(key)) return IdentityChange.NewOrUnchanged
    const publicKey = key.serialize()
    decodedKeys.set(publicKey, key)
    await this.#store.setRemoteIdentity(address, { publicKey, firstSeenAt: this.#clock.now() })
    if (!known) return IdentityChange.NewOrUnchanged
    this.#changes.set(address, publicKey)
    return IdentityChange.ReplacedExisting
  }

  /** The new key if `address`'s identity changed since the last call. */
  takeChange(address: string): Uint8Array | undefined {
    const key = this.#changes.get(address)
    this.#changes.delete(address)
    return key
  }

  // Consumer WhatsApp never blocks on a new key: it warns. The change is surfaced by SignalAccount.
  override async isTrustedIdentity(_name: ProtocolAddress, _key: PublicKey, _direction: Direction): Promise<boolean> {
    return true
  }

  override async getIdentity(name: ProtocolAddress): Promise<PublicKey | null> {
    const known = await this.#store.getRemoteIdentity(name.name())
    return known ? publicKeyOf(known.publicKey) : null
  }
}

export class StoreSessionStore extends SessionStore {
  readonly #store: SignalStateStore

  constructor(store: SignalStateStore) {
    super()
    this.#store = store
  }

  override async saveSession(name: ProtocolAddress, record: SessionRecord): Promise<void> {
    const bytes = record.serialize()
    decodedSessions.set(bytes, record)
    await this.#store.setSession(name.name(), bytes)
  }

  override async getSession(name: ProtocolAddress): Promise<SessionRecord | null> {
    const bytes = await this.#store.getSession(name.name())
    if (!bytes) return null
    let record = decodedSessions.get(bytes)
    if (!record) decodedSessions.set(bytes, (record = SessionRecord.deserialize(arrayBytes(bytes))))
    return record
  }

  override async getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
    const records = await Promise.all(addresses.map((a) => this.getSession(a)))
    return records.map((record, i) => {
      if (!record) throw new Error(`no session for ${addresses[i]?.toString()}`)
      return record
    })
  }
}

export class StorePreKeyStore extends PreKeyStore {
  readonly #store: SignalStateStore

  constructor(store: SignalStateStore) {
    super()
    this.#store = store
  }

  override async savePreKey(id: number, record: PreKeyRecord): Promise<void> {
    await this.#store.setPreKey(id, record.serialize())
  }

  override async getPreKey(id: number): Promise<PreKeyRecord> {
    return PreKeyRecord.deserialize(arrayBytes(await required(this.#store.getPreKey(id), 'pre-key', id)))
  }

  override async removePreKey(id: number): Promise<void> {
    await this.#store.removePreKey(id)
  }
}

export class StoreSignedPreKeyStore extends SignedPreKeyStore {
  readonly #store: SignalStateStore

  constructor(store: SignalStateStore) {
    super()
    this.#store = store
  }

  override async saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void> {
    await this.#store.setSignedPreKey(id, record.serialize())
  }

  override async getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
    return SignedPreKeyRecord.deserialize(arrayBytes(await required(this.#store.getSignedPreKey(id), 'signed pre-key', id)))
  }
}

export class StoreKyberPreKeyStore extends KyberPreKeyStore {
  readonly #store: SignalStateStore

  constructor(store: SignalStateStore) {
    super()
    this.#store = store
  }

  /** libsignal's own saves are one-time keys; SignalAccount writes last-resort keys directly. */
  override async saveKyberPreKey(id: number, record: KyberPreKeyRecord): Promise<void> {
    await this.#store.setKyberPreKey(id, record.serialize(), false)
  }

  override async getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
    return KyberPreKeyRecord.deserialize(arrayBytes(await required(this.#store.getKyberPreKey(id), 'kyber pre-key', id)))
  }

  override async markKyberPreKeyUsed(id: number, _signedPreKeyId: number, _baseKey: PublicKey): Promise<void> {
    await this.#store.markKyberPreKeyUsed(id)
  }
}

async function required(value: Promise<Uint8Array | null>, what: string, id: number): Promise<Uint8Array> {
  const bytes = await value
  if (!bytes) throw new Error(`${what} ${id} not found`)
  return bytes
}
