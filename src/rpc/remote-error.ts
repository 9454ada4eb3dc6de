import { asWaboxError, isDatabaseUnavailable, WaboxError, type KnownCode } from '../errors/index.js'

/** An error crossing a thread or process boundary; a WaboxError keeps its code, details and status. */
export type RemoteError =
  | { code: KnownCode; details: string; httpStatus: number | undefined }
  | { message: string }

export function remoteError(err: unknown): RemoteError {
  // an unavailable database stays retryable on the other side (503), not an internal error
  const wabox = err instanceof WaboxError || isDatabaseUnavailable(err) ? asWaboxError(err) : undefined
  if (wabox) return { code: wabox.code, details: wabox.details, httpStatus: wabox.httpStatusOverride }
  return { message: err instanceof Error ? err.message : String(err) }
}

export function fromRemoteError(err: RemoteError): Error {
  if ('code' in err) return new WaboxError(err.code, err.details, err.httpStatus === undefined ? {} : { httpStatus: err.httpStatus })
  return new Error(err.message)
}
