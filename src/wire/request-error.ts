import type { WireErrorCode } from './frames.js'

/** An `ack` with `ok: false` (or an HTTP blob call that failed), carrying the protocol error code. */
export class WireRequestError extends Error {
  override name = 'WireRequestError'

  constructor(
    readonly code: WireErrorCode,
    message: string,
  ) {
    super(message)
  }
}

export function toError(error: { code: string; message: string } | undefined): WireRequestError {
  return new WireRequestError((error?.code ?? 'internal') as WireErrorCode, error?.message ?? 'request failed')
}
