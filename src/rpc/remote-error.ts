import { WaboxError, type KnownCode } from '../errors/index.js'

/** An error crossing a thread or process boundary; a WaboxError keeps its code, details and status. */
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
