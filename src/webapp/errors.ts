import { Readable } from 'node:stream'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { asWaboxError, invalid, missing, notAllowed, OnPremCode, WaboxError } from '../errors/index.js'
import { formatBytes } from '../media/limits.js'
import type { DialectErrors, ErrorDialects } from './dialects.js'
import { RouteMethods } from './route-methods.js'

/** `meta` of every On-Prem response. */
export interface Meta {
  api_status: 'stable'
  version: string
}

export function meta(version: string): Meta {
  return { api_status: 'stable', version }
}

export { invalid, missing, notAllowed } from '../errors/index.js'

export function notFound(what: string): WaboxError {
  return new WaboxError(OnPremCode.RESOURCE_NOT_FOUND, what)
}

/** 1005 with 401: no or bad credentials. */
export function unauthorized(details: string): WaboxError {
  return new WaboxError(OnPremCode.ACCESS_DENIED, details, { httpStatus: 401 })
}

/** 1005 with 403: valid credentials that may not do this. */
export function forbidden(details: string): WaboxError {
  return new WaboxError(OnPremCode.ACCESS_DENIED, details, { httpStatus: 403 })
}

interface AjvError {
  instancePath?: string
  keyword: string
  message?: string
  params?: Record<string, unknown>
}

/** `/contacts/0/name` → `contacts[0].name`. */
export function fieldPath(pointer: string, child?: string): string {
  const parts = pointer.split('/').filter(Boolean).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
  if (child) parts.push(child)
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '')
}

const PLACES: Record<string, string> = { querystring: 'query parameter', params: 'path parameter', headers: 'header' }

/** Translates the first Ajv error of a request into 1008 / 1009 / 1010 with the field path. */
export function fromValidation(errors: AjvError[], context: string | undefined): WaboxError {
  const e = errors[0]
  if (!e) return new WaboxError(OnPremCode.PARAMETER_INVALID, 'Invalid request')
  const place = PLACES[context ?? '']
  const label = (path: string) => (place ? `${place} '${path}'` : path)
  const path = fieldPath(e.instancePath ?? '')
  if (e.keyword === 'required') {
    const prop = String(e.params?.missingProperty ?? '')
    return missing(label(fieldPath(e.instancePath ?? '', prop) || 'body'))
  }
  if (e.keyword === 'additionalProperties') {
    return notAllowed(label(fieldPath(e.instancePath ?? '', String(e.params?.additionalProperty ?? ''))), 'unknown parameter')
  }
  if (!place && path === '' && e.keyword === 'type') {
    return missing('body', 'the request body must be a JSON object')
  }
  let rule = e.message ?? 'is not valid'
  if (e.keyword === 'enum' && Array.isArray(e.params?.allowedValues)) rule = `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`
  return invalid(label(path || 'body'), rule)
}

/** A URL or key shown in an error: long enough to recognise, short enough to read. */
export function shown(text: string, max = 100): string {
  return text.length > max ? `${text.slice(0, max)}…` : text
}

/** Path parameters longer than this are refused by the router itself (Fastify's default). */
export const MAX_PARAM_LENGTH = 100

function unsupportedType(request: FastifyRequest): WaboxError {
  // JSON everywhere but in the PEM uploads, whose plugin keeps only text parsers
  const takes = request.server.hasContentTypeParser('application/json') ? 'application/json' : 'text/plain'
  const type = request.headers['content-type']
  const details = type
    ? `Invalid value for header 'Content-Type': '${shown(type, 60)}' is not accepted here; send ${takes}`
    : `Missing header 'Content-Type': send the body as ${takes}`
  return new WaboxError(type ? OnPremCode.PARAMETER_INVALID : OnPremCode.PARAMETER_MISSING, details, { httpStatus: 415 })
}

function translate(err: FastifyError | WaboxError, request: FastifyRequest): WaboxError {
  if (err instanceof WaboxError) return err
  if (err.validation) return fromValidation(err.validation as AjvError[], err.validationContext)
  const path = shown(request.url.split('?')[0] ?? '')
  switch (err.code) {
    case 'FST_ERR_BAD_URL':
      return invalid('URL path', `${path} is not a valid path (malformed percent-encoding? every % must start a %XX escape of UTF-8 text)`)
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new WaboxError(OnPremCode.PARAMETER_INVALID,
        `Invalid value for a path parameter of ${path}: at most ${MAX_PARAM_LENGTH} characters`, { httpStatus: 414 })
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new WaboxError(OnPremCode.PARAMETER_INVALID, `The request body is too large: at most ${formatBytes(request.routeOptions.bodyLimit)}`, { httpStatus: 413 })
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return unsupportedType(request)
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return missing('body', 'the request body is empty')
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new WaboxError(OnPremCode.PARAMETER_INVALID, 'The request body is not valid JSON')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new WaboxError(OnPremCode.INVALID_REQUEST, 'Content-Length does not match the body')
  }
  if (err instanceof SyntaxError) return new WaboxError(OnPremCode.PARAMETER_INVALID, 'The request body is not valid JSON')
  const status = err.statusCode ?? 500
  if (status >= 400 && status < 500) return new WaboxError(OnPremCode.INVALID_REQUEST, err.message, { httpStatus: status })
  return asWaboxError(err)
}

type Render = DialectErrors['render']

/** Answers a failed request in the envelope of `render`. */
function answer(err: FastifyError | WaboxError, request: FastifyRequest, reply: FastifyReply, render: Render): void {
  const wabox = translate(err, request)
  const { status, body, contentType } = render(wabox)
  if (status >= 500) request.log.error({ err }, 'request failed')
  else request.log.debug({ code: wabox.code, details: wabox.details }, 'request rejected')
  // an upload rejected early leaves the rest of its body unread: do not reuse the socket
  const upload = request.body
  if (upload instanceof Readable && !upload.readableEnded) void reply.header('connection', 'close')
  void reply.code(status).type(contentType ?? JSON_TYPE).send(body)
}

const JSON_TYPE = 'application/json; charset=utf-8'

/** The error handler of a dialect's plugin: every failure of its routes in its envelope. */
export function dialectErrorHandler(errors: DialectErrors) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => answer(err, request, reply, errors.render)
}

/** Fastify's `frameworkErrors`: URLs the router refuses (bad escapes, over-long parameters). */
export function frameworkErrorHandler(dialects: ErrorDialects) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply) =>
    answer(err, request, reply, dialects.for(request.originalUrl, request.raw.socket).render)
}

/**
 * The root error handler and the not-found handler: what fails before a route is known is
 * answered in the envelope of the URL's dialect. A path that exists with other methods is 405
 * with `Allow`, an unknown one 404.
 */
export function installErrorHandling(app: FastifyInstance, dialects: ErrorDialects): void {
  const routes = new RouteMethods()
  app.addHook('onRoute', (route) => routes.add(route.url, route.method))
  app.setErrorHandler(frameworkErrorHandler(dialects))
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? ''
    const allowed = routes.allowed(path)
    const { render, unknownEndpoint } = dialects.for(request.originalUrl, request.raw.socket)
    if (allowed.length === 0) {
      const sent = request.originalUrl.split('?')[0] ?? ''
      const err = unknownEndpoint?.(request.method, shown(sent)) ?? new WaboxError(OnPremCode.RESOURCE_NOT_FOUND, `Unknown endpoint ${request.method} ${shown(sent)}`)
      return answer(err, request, reply, render)
    }
    void reply.header('allow', allowed.join(', '))
    answer(new WaboxError(OnPremCode.INVALID_REQUEST,
      `Method ${request.method} is not allowed on ${shown(path)}: use ${allowed.join(', ')}`, { httpStatus: 405 }), request, reply, render)
  })
}
