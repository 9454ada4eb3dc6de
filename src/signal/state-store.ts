/**
 * Persistence contract for one account's Signal state. Values are opaque serialized
 * libsignal records, so a backend can be SQL rows, files or memory. `address` is the
 * remote's address name (its wa_id; every account has exactly device 1).
 */
export interface LocalIdentity {
  /** `IdentityKeyPair.serialize()` */
  identityKeyPair: Uint8Array
  registrationId: number
  /** Next id handed to a generated pre-key of any kind; ids are never reused. */
  nextKeyId: number
}

export interface RemoteIdentity {
  /** `PublicKey.serialize()` of the remote's identity key. */
  publicKey: Uint8Array
  /** Milliseconds since epoch when this key was first seen for the address. */
  firstSeenAt: number
}

export interface SignalStateStore {
  getLocalIdentity(): Promise<LocalIdentity | null>
  setLocalIdentity(identity: LocalIdentity): Promise<void>

  getRemoteIdentity(address: string): Promise<RemoteIdentity | null>
  setRemoteIdentity(address: string, identity: RemoteIdentity): Promise<void>

  getPreKey(id: number): Promise<Uint8Array | null>
  setPreKey(id: number, record: Uint8Array): Promise<void>
  removePreKey(id: number): Promise<void>

  getSignedPreKey(id: number): Promise<Uint8Array | null>
  setSignedPreKey(id: number, record: Uint8Array): Promise<void>

  getKyberPreKey(id: number): Promise<Uint8Array | null>
  /** `lastResort` keys survive use; one-time keys are deleted when marked used. */
  setKyberPreKey(id: number, record: Uint8Array, lastResort: boolean): Promise<void>
  markKyberPreKeyUsed(id: number): Promise<void>

  getSession(address: string): Promise<Uint8Array | null>
  setSession(address: string, record: Uint8Array): Promise<void>
  removeSession(address: string): Promise<void>
}
