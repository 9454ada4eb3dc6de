import type { Config } from '../config/config.js'
import type { CoreBridge } from '../domain/bridge.js'
import { WaboxError, type KnownCode } from '../errors/index.js'

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

/** An error crossing the thread boundary; a WaboxError keeps its code, details and status. */
export type RemoteError =
  | { code: KnownCode; details: string; httpStatus: number | undefined }
  | { message: string }

export function remoteError(err: unknown): RemoteError {
  if (err instanceof WaboxError) return { code: err.code, details: err.details, httpStatus: err.httpStatusOverride }
  return { message: err instanceof Error ? err.message : String(err) }
}

export function fromRemoteError(err: RemoteError): Error {
  if ('code' in err) return new WaboxError(err.code, err.details, err.httpStatus === undefined ? {} : { httpStatus: err.httpStatus })
  return new Error(err.message)
}
