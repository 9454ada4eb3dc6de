import type { Config } from '../config/config.js'
import type { CoreBridge } from '../domain/bridge.js'
import type { RemoteError } from '../rpc/remote-error.js'

export { fromRemoteError, remoteError, type RemoteError } from '../rpc/remote-error.js'

/** What the engine thread is started with (structured-cloned: the master key arrives as Uint8Array). */
export interface EngineThreadData {
  config: Config
  /** SqliteGate's shared memory. */
  gate: SharedArrayBuffer
  networkUrl: string
  ownerId: string
  housekeepingIntervalMs: number | undefined
}

export type ToEngine =
  | { t: 'call'; id: number; method: keyof CoreBridge; args: unknown[] }
  | { t: 'wake'; phoneNumberIds: string[] }
  | { t: 'close' }

export type FromEngine =
  | { t: 'ready' }
  | { t: 'result'; id: number; value?: unknown; error?: RemoteError }
  /** Callbacks were committed: wake the dispatcher. */
  | { t: 'callback' }
