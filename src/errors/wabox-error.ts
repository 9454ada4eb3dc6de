import {
  catalogueEntry,
  isKnownCode,
  OnPremCode,
  toCloudCode,
  toOnPremCode,
  type CloudCodeValue,
  type Dialect,
  type ErrorContext,
  type KnownCode,
  type OnPremCodeValue,
} from './catalogue.js'
import { isDatabaseUnavailable } from './database-unavailable.js'

export interface WaboxErrorOptions {
  /** Replaces the catalogue status in both dialects, e.g. 401 for 1005 on bad credentials. */
  httpStatus?: number
  cause?: unknown
  /** Graph's `error_subcode`, e.g. 33 for an object that does not exist or does not support the operation. */
  subcode?: number
  /** What Graph's `message` says after `(#code) ` where Meta words it itself instead of the title. */
  graphMessage?: string
}

/**
 * The error handlers throw. It may be created from a code of either dialect and renders in
 * both: the other dialect's code comes from the catalogue mapping.
 */
export class WaboxError extends Error {
  override readonly name = 'WaboxError'
  /** The code as given. */
  readonly code: KnownCode
  /** Dialect of the code as given. */
  readonly dialect: Dialect
  readonly details: string
  readonly httpStatusOverride: number | undefined
  readonly subcode: number | undefined
  readonly graphMessage: string | undefined

  constructor(code: KnownCode, details: string, opts: WaboxErrorOptions = {}) {
    // throwing here beats rendering a made-up code to a client
    if (!isKnownCode(code)) throw new RangeError(`WaboxError: unknown error code ${String(code)}`)
    const { httpStatus, cause, subcode, graphMessage } = opts
    if (httpStatus !== undefined && !(Number.isInteger(httpStatus) && httpStatus >= 400 && httpStatus <= 599)) {
      throw new RangeError(`WaboxError: httpStatus must be an error status, got ${httpStatus}`)
    }
    const entry = catalogueEntry(code)
    super(details ? `(#${code}) ${entry.title}: ${details}` : `(#${code}) ${entry.title}`,
      cause === undefined ? undefined : { cause })
    this.code = code
    this.dialect = entry.dialect
    this.details = details
    this.httpStatusOverride = httpStatus
    this.subcode = subcode
    this.graphMessage = graphMessage
  }

  /** Title of the code as given. */
  get title(): string {
    return catalogueEntry(this.code).title
  }

  /** HTTP status in the dialect the code was given in. */
  get httpStatus(): number {
    return this.httpStatusFor(this.dialect)
  }

  /** Code in the On-Prem dialect, for synchronous responses. */
  get onPremCode(): OnPremCodeValue {
    return this.codeFor('onprem')
  }

  /** Code in the Cloud dialect. */
  get cloudCode(): CloudCodeValue {
    return this.codeFor('cloud')
  }

  codeFor(dialect: 'onprem', context?: ErrorContext): OnPremCodeValue
  codeFor(dialect: 'cloud', context?: ErrorContext): CloudCodeValue
  codeFor(dialect: Dialect, context?: ErrorContext): KnownCode
  codeFor(dialect: Dialect, context: ErrorContext = 'sync'): KnownCode {
    if (dialect === this.dialect) return this.code
    return dialect === 'cloud'
      ? toCloudCode(this.code as OnPremCodeValue)
      : toOnPremCode(this.code as CloudCodeValue, context)
  }

  titleFor(dialect: Dialect, context: ErrorContext = 'sync'): string {
    return catalogueEntry(this.codeFor(dialect, context)).title
  }

  /**
   * Status a front end of that dialect answers with: the override, else the status of the code
   * in that dialect (Cloud says 400 where On-Prem says 429), else of the code as given (for
   * webhook-only twins), else 500.
   */
  httpStatusFor(dialect: Dialect): number {
    return this.httpStatusOverride
      ?? catalogueEntry(this.codeFor(dialect)).httpStatus
      ?? catalogueEntry(this.code).httpStatus
      ?? catalogueEntry(this.codeFor(dialect === 'cloud' ? 'onprem' : 'cloud')).httpStatus
      ?? 500
  }
}

/**
 * Wraps anything thrown into a WaboxError; foreign errors become 1014 Internal error with a
 * fixed detail so internals never leak to clients (the original stays in `cause`). A database
 * that is frozen, unreachable or restarting is 1011 Service not ready (503): clients retry it.
 */
export function asWaboxError(err: unknown): WaboxError {
  if (err instanceof WaboxError) return err
  if (isDatabaseUnavailable(err)) return new WaboxError(OnPremCode.SERVICE_NOT_READY, 'The database did not answer or could not be reached; retry later', { cause: err })
  return new WaboxError(OnPremCode.INTERNAL_ERROR, 'Unexpected internal error', { cause: err })
}
