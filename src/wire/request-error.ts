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

/**
 * A request its caller gave up on (its signal aborted): taken out of the in-flight set, so a
 * reconnect does not send it later. `sent`: it was written to a socket before, so the network
 * may have received and applied it before it stopped answering; the outcome is unknown.
 */
export class RequestCancelledError extends Error {
  override name = 'RequestCancelledError'

  constructor(
    readonly type: string,
    readonly sent: boolean,
  ) {
    super(`${type} cancelled ${sent ? 'after it was sent: the network may have acted on it' : 'before it was sent'}`)
  }
}

export function toError(error: { code: string; message: string } | undefined): WireRequestError {
  return new WireRequestError((error?.code ?? 'internal') as WireErrorCode, error?.message ?? 'request failed')
}
