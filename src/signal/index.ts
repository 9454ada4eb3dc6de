export {
  DEVICE_ID,
  SignalAccount,
  identityHash,
  toPreKeyBundle,
  type BundleProvider,
  type DecryptResult,
  type EncryptResult,
  type EnvelopeKind,
  type IdentityChanged,
  type KeysUploadPayload,
  type SignalAccountOptions,
} from './account.js'
export { readFileIfExists, writeFileAtomic } from './atomic-file.js'
export { FileSignalStore } from './file-store.js'
export { KeyedQueue } from './keyed-queue.js'
export { decryptMedia, encryptMedia, sha256Hex, type EncryptedMedia } from './media-crypto.js'
export { MemorySignalStore } from './memory-store.js'
export type { LocalIdentity, RemoteIdentity, SignalStateStore } from './state-store.js'
