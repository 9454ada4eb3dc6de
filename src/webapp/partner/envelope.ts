import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { WaboxError } from '../../errors/index.js'
import type { DialectErrors } from '../dialects.js'
import { dialectErrorHandler } from '../errors.js'
import { PARTNER_ERRORS, PartnerRefusal, type PartnerErrorCode } from '../services/partner-refusal.js'

export function isPartnerPath(path: string): boolean {
  return path === '/partner' || path.startsWith('/partner/')
}

function codeForStatus(status: number): PartnerErrorCode | 'error' {
  const found = Object.entries(PARTNER_ERRORS).find(([, s]) => s === status)
  return found ? (found[0] as PartnerErrorCode) : status >= 500 ? 'error' : 'invalid_request'
}

/**
 * The Partner API's errors: `{error: {code, message}}` with the HTTP status. An error of a
 * shared use case (registration, webhook config) also carries its Graph code as `graph_code`.
 */
export const partnerErrors: DialectErrors = {
  matches: isPartnerPath,
  render: (err: WaboxError) => {
    // Graph answers rate limits with 400; a rate limit here is a 429, as On-Prem answers it
    const status = err.httpStatusFor('onprem') === 429 ? 429 : err.httpStatusFor('cloud')
    return { status, body: { error: { code: codeForStatus(status), message: err.details || err.title, graph_code: err.cloudCode } } }
  },
}

/** Refusals of the partner use cases as they are; every other error through the envelope above. */
export function partnerErrorHandler(errors: DialectErrors) {
  const handle = dialectErrorHandler(errors)
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof PartnerRefusal) return reply.code(err.status).send({ error: { code: err.code, message: err.message } })
    return handle(err, request, reply)
  }
}

/** A JSON body of the Partner API: snake_case keys, instants as ISO 8601 (from the store's ms). */
export function toJson(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => toJson(v))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), toJson(v, k)]))
  }
  if (typeof value === 'number' && /(At|Until)$/.test(key)) return new Date(value).toISOString()
  return value
}

/** The request body as an object (a missing body is an empty one). */
export function bodyOf(request: FastifyRequest): Record<string, unknown> {
  const body = request.body ?? {}
  if (typeof body !== 'object' || Array.isArray(body)) throw new PartnerRefusal('invalid_request', 'The request body must be a JSON object')
  return body as Record<string, unknown>
}
