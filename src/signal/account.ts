import { createHash, randomInt } from 'node:crypto'
import {
  CiphertextMessageType,
  IdentityKeyPair,
  KEMKeyPair,
  KEMPublicKey,
  KyberPreKeyRecord,
  PreKeyBundle,
  PreKeyRecord,
  PreKeySignalMessage,
  PrivateKey,
  ProtocolAddress,
  PublicKey,
  SignalMessage,
  SignedPreKeyRecord,
  processPreKeyBundle,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
} from '@signalapp/libsignal-client'
import { type Clock, systemClock } from '../clock.js'
import type { KeysUpload, OneTimeKey, PreKeyBundleWire, SignedKey } from '../wire/frames.js'
import { KeyedQueue } from './keyed-queue.js'
import {
  StoreIdentityKeyStore,
  StoreKyberPreKeyStore,
  StorePreKeyStore,
  StoreSessionStore,
  StoreSignedPreKeyStore,
  arrayBytes,
} from './libsignal-stores.js'
import { StagedSignalStore } from './staged-store.js'
import type { SignalStateStore } from './state-store.js'

/** Every wabox account has exactly one device. */
export const DEVICE_ID = 1

// Addresses are immutable native objects: one per wa_id, not one per operation (each is a
// native allocation and a finalizer). Bounded: dropped wholesale when full.
const addresses = new Map<string, ProtocolAddress>()
const MAX_ADDRESSES = 50_000

function addressOf(waId: string): ProtocolAddress {
  let address = addresses.get(waId)
  if (!address) {
    if (addresses.size >= MAX_ADDRESSES) addresses.clear()
    addresses.set(waId, (address = ProtocolAddress.new(waId, DEVICE_ID)))
  }
  return address
}

export type KeysUploadPayload = Omit<KeysUpload, 'v' | 'id' | 't'>
export type BundleProvider = (waId: string) => Promise<PreKeyBundleWire>
export type EnvelopeKind = 'prekey' | 'message'

/** Reported when a remote's identity key replaced a different one we had stored. */
export interface IdentityChanged {
  hash: string
}

export interface EncryptResult {
  kind: EnvelopeKind
  body: Uint8Array
  identityChanged?: IdentityChanged
}

export interface DecryptResult {
  plaintext: Uint8Array
  identityChanged?: IdentityChanged
}

export interface SignalAccountOptions {
  /** The account's own wa_id (its address name). */
  waId: string
  store: SignalStateStore
  clock?: Clock
}

interface DecryptStores {
  sessions: StoreSessionStore
  identities: StoreIdentityKeyStore
  preKeys: StorePreKeyStore
  signedPreKeys: StoreSignedPreKeyStore
  kyberPreKeys: StoreKyberPreKeyStore
}

/** `shared`: the account's own stores, whose decoded local identity a staged set reuses. */
function storesOver(store: SignalStateStore, clock: Clock, shared?: DecryptStores): DecryptStores {
  return {
    sessions: new StoreSessionStore(store),
    identities: new StoreIdentityKeyStore(store, clock, shared?.identities),
    preKeys: new StorePreKeyStore(store),
    signedPreKeys: new StoreSignedPreKeyStore(store),
    kyberPreKeys: new StoreKyberPreKeyStore(store),
  }
}

/**
 * One account's end of Signal: identity, pre-key generation and per-remote sessions.
 * Operations on one remote run one at a time (a ratchet step reads and writes the session);
 * different remotes proceed concurrently.
 */
export class SignalAccount {
  readonly waId: string
  readonly #store: SignalStateStore
  readonly #clock: Clock
  readonly #local: ProtocolAddress
  readonly #stores: DecryptStores
  readonly #perRemote = new KeyedQueue()
  readonly #keyGeneration = new KeyedQueue()

  private constructor(opts: Required<SignalAccountOptions>) {
    this.waId = opts.waId
    this.#store = opts.store
    this.#clock = opts.clock
    this.#local = addressOf(opts.waId)
    this.#stores = storesOver(opts.store, opts.clock)
  }

  /** Opens the account in `store`, creating a fresh identity when the store has none. */
  static async open(opts: SignalAccountOptions): Promise<SignalAccount> {
    if (!(await opts.store.getLocalIdentity())) {
      await opts.store.setLocalIdentity({
        identityKeyPair: IdentityKeyPair.generate().serialize(),
        registrationId: randomInt(1, 16380),
        nextKeyId: 1,
      })
    }
    return new SignalAccount({ ...opts, clock: opts.clock ?? systemClock })
  }

  async identityKey(): Promise<Uint8Array> {
    return (await this.#stores.identities.getIdentityKeyPair()).publicKey.serialize()
  }

  /**
   * Generates `count` one-time EC and `count` one-time Kyber pre-keys plus a fresh signed
   * pre-key and last-resort Kyber key, stores the private halves and returns what to upload.
   * The same call serves the first upload and every top-up (`keys.upload` replaces signed keys).
   */
  generateKeys(count = 100): Promise<KeysUploadPayload> {
    return this.#keyGeneration.run('keys', async () => {
      const local = await this.#store.getLocalIdentity()
      if (!local) throw new Error('Signal account has no local identity')
      const identity = IdentityKeyPair.deserialize(arrayBytes(local.identityKeyPair))
      const now = this.#clock.now()
      let nextId = local.nextKeyId
      // reserve the ids first: a crash may waste ids but can never hand one out twice
      await this.#store.setLocalIdentity({ ...local, nextKeyId: nextId + 2 + 2 * count })

      const writes: Promise<void>[] = []
      const signedKey = (id: number, publicKey: Uint8Array): SignedKey => ({
        id,
        publicKey,
        signature: identity.privateKey.sign(arrayBytes(publicKey)),
      })

      const signedPriv = PrivateKey.generate()
      const signedPreKey = signedKey(nextId++, signedPriv.getPublicKey().serialize())
      const signedRecord = SignedPreKeyRecord.new(signedPreKey.id, now, signedPriv.getPublicKey(), signedPriv, arrayBytes(signedPreKey.signature))
      writes.push(this.#store.setSignedPreKey(signedPreKey.id, signedRecord.serialize()))

      const kyber = (lastResort: boolean): SignedKey => {
        const pair = KEMKeyPair.generate()
        const key = signedKey(nextId++, pair.getPublicKey().serialize())
        writes.push(this.#store.setKyberPreKey(key.id, KyberPreKeyRecord.new(key.id, now, pair, arrayBytes(key.signature)).serialize(), lastResort))
        return key
      }
      const kyberPreKey = kyber(true)

      const preKeys: OneTimeKey[] = []
      const kyberPreKeys: SignedKey[] = []
      for (let i = 0; i < count; i++) {
        const priv = PrivateKey.generate()
        const id = nextId++
        preKeys.push({ id, publicKey: priv.getPublicKey().serialize() })
        writes.push(this.#store.setPreKey(id, PreKeyRecord.new(id, priv.getPublicKey(), priv).serialize()))
        kyberPreKeys.push(kyber(false))
      }
      await Promise.all(writes)
      return {
        registrationId: local.registrationId,
        identityKey: identity.publicKey.serialize(),
        signedPreKey,
        kyberPreKey,
        preKeys,
        kyberPreKeys,
      }
    })
  }

  /** Encrypts for `remoteWaId`, fetching a bundle through `bundles` only when no usable session exists. */
  encrypt(remoteWaId: string, plaintext: Uint8Array, bundles: BundleProvider): Promise<EncryptResult> {
    return this.#perRemote.run(remoteWaId, async () => {
      const remote = addressOf(remoteWaId)
      const now = new Date(this.#clock.now())
      const session = await this.#stores.sessions.getSession(remote)
      if (!session?.hasCurrentState(now)) {
        const bundle = toPreKeyBundle(await bundles(remoteWaId))
        await processPreKeyBundle(bundle, remote, this.#local, this.#stores.sessions, this.#stores.identities, now)
      }
      const message = await signalEncrypt(arrayBytes(plaintext), remote, this.#local, this.#stores.sessions, this.#stores.identities, now)
      const kind: EnvelopeKind = message.type() === CiphertextMessageType.PreKey ? 'prekey' : 'message'
      return withIdentityChange({ kind, body: message.serialize() }, this.#stores.identities.takeChange(remoteWaId))
    })
  }

  decrypt(fromWaId: string, kind: EnvelopeKind, body: Uint8Array): Promise<DecryptResult> {
    return this.#perRemote.run(fromWaId, () => this.#decrypt(fromWaId, kind, body, this.#stores))
  }

  /**
   * Decrypts, and stores the ratchet step only once `keep` has kept the plaintext. Stored first,
   * a crash before `keep` ends leaves a message that can never be read again: its redelivery
   * is refused as a duplicate. Nothing is stored when `decrypt` or `keep` throws.
   */
  decryptAndKeep<T>(fromWaId: string, kind: EnvelopeKind, body: Uint8Array, keep: (result: DecryptResult) => Promise<T>): Promise<T> {
    return this.#perRemote.run(fromWaId, async () => {
      const staged = new StagedSignalStore(this.#store)
      const kept = await keep(await this.#decrypt(fromWaId, kind, body, storesOver(staged, this.#clock, this.#stores)))
      await staged.flush()
      return kept
    })
  }

  async #decrypt(fromWaId: string, kind: EnvelopeKind, body: Uint8Array, stores: DecryptStores): Promise<DecryptResult> {
    const remote = addressOf(fromWaId)
    const plaintext =
      kind === 'prekey'
        ? await signalDecryptPreKey(
            PreKeySignalMessage.deserialize(arrayBytes(body)),
            remote,
            this.#local,
            stores.sessions,
            stores.identities,
            stores.preKeys,
            stores.signedPreKeys,
            stores.kyberPreKeys,
          )
        : await signalDecrypt(SignalMessage.deserialize(arrayBytes(body)), remote, this.#local, stores.sessions, stores.identities)
    return withIdentityChange({ plaintext }, stores.identities.takeChange(fromWaId))
  }

  async hasSession(remoteWaId: string): Promise<boolean> {
    const session = await this.#stores.sessions.getSession(addressOf(remoteWaId))
    return session?.hasCurrentState(new Date(this.#clock.now())) ?? false
  }

  /** Forgets the session so the next encrypt starts over from a fresh bundle. */
  resetSession(remoteWaId: string): Promise<void> {
    return this.#perRemote.run(remoteWaId, () => this.#store.removeSession(remoteWaId))
  }

  /** The remote's current identity as the On-Prem identity edge shows it. */
  async remoteIdentity(remoteWaId: string): Promise<{ hash: string; firstSeenAt: number } | null> {
    const known = await this.#store.getRemoteIdentity(remoteWaId)
    return known ? { hash: identityHash(known.publicKey), firstSeenAt: known.firstSeenAt } : null
  }
}

/** Short fingerprint of an identity key: base64 of the first 8 bytes of its sha256 ("UKD6Y/5SqDU="). */
export function identityHash(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest().subarray(0, 8).toString('base64')
}

export function toPreKeyBundle(wire: PreKeyBundleWire): PreKeyBundle {
  return PreKeyBundle.new(
    wire.registrationId,
    wire.deviceId,
    wire.preKey?.id ?? null,
    wire.preKey ? PublicKey.deserialize(arrayBytes(wire.preKey.publicKey)) : null,
    wire.signedPreKey.id,
    PublicKey.deserialize(arrayBytes(wire.signedPreKey.publicKey)),
    arrayBytes(wire.signedPreKey.signature),
    PublicKey.deserialize(arrayBytes(wire.identityKey)),
    wire.kyberPreKey.id,
    KEMPublicKey.deserialize(arrayBytes(wire.kyberPreKey.publicKey)),
    arrayBytes(wire.kyberPreKey.signature),
  )
}

function withIdentityChange<T extends object>(result: T, changedKey: Uint8Array | undefined): T & { identityChanged?: IdentityChanged } {
  return changedKey ? { ...result, identityChanged: { hash: identityHash(changedKey) } } : result
}
