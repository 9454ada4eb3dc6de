import { CloudCode, renderCloud, WaboxError } from '../../errors/index.js'
import { randomToken } from '../../ids.js'
import type { DialectErrors } from '../dialects.js'
import { isGraphPath } from './paths.js'

/** Graph's trace id: opaque, one per error, for the caller to quote. */
function fbtraceId(): string {
  return 'A' + randomToken(16)
}

/** Graph's subcode for an object that does not exist or does not support the operation. */
const UNSUPPORTED_SUBCODE = 33

/**
 * Meta's answer to an id the caller cannot use this way, whatever the reason (no such object,
 * another WABA's, an operation the object does not have): one answer, so nothing leaks.
 */
export function unsupportedRequest(method: string, id: string, path?: string): WaboxError {
  return new WaboxError(CloudCode.INVALID_PARAMETER,
    `Unsupported ${method.toLowerCase()} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, `
    + `or does not support this operation${path ? ` (${method} ${path})` : ''}`,
    { subcode: UNSUPPORTED_SUBCODE })
}

/** 190 with HTTP 401: no, an unknown or a revoked access token. */
export function invalidToken(details: string): WaboxError {
  return new WaboxError(CloudCode.ACCESS_TOKEN_EXPIRED, details)
}

/** The object id a Graph path names: its first segment after the version. */
function objectIdOf(path: string): string {
  const segments = path.split('/').filter(Boolean)
  return (/^v\d+\.\d+$/.test(segments[0] ?? '') ? segments[1] : segments[0]) ?? ''
}

/** Every error of the Cloud dialect in the Graph envelope, with the Cloud code and Meta's HTTP status. */
export const cloudErrors: DialectErrors = {
  matches: isGraphPath,
  render: (err) => ({ status: err.httpStatusFor('cloud'), body: renderCloud(err, fbtraceId()) }),
  unknownEndpoint: (method, path) => unsupportedRequest(method, objectIdOf(path), path),
}
