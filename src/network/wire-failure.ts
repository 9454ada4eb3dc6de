import type { WireErrorCode } from '../wire/frames.js'

/**
 * An expected refusal: becomes an `ack` with `ok: false` (or an HTTP error on the control
 * and blob routes). Thrown before any write, so a batch that catches it can still commit.
 */
export class WireFailure extends Error {
  override name = 'WireFailure'

  constructor(
    readonly code: WireErrorCode,
    message: string,
    /** HTTP status when raised under /control or /blobs; derived from `code` when absent. */
    readonly httpStatus?: number,
  ) {
    super(message)
  }
}

const HTTP_STATUS: Partial<Record<WireErrorCode, number>> = {
  bad_request: 400,
  bad_certificate: 400,
  unauthorized: 401,
  not_found: 404,
  not_registered: 404,
}

export function httpStatusOf(failure: WireFailure): number {
  return failure.httpStatus ?? HTTP_STATUS[failure.code] ?? 500
}
