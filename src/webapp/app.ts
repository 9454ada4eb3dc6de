import os from 'node:os'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyInstance } from 'fastify'
import { OnPremCode, WaboxError } from '../errors/index.js'
import { fastifyTimeouts } from '../http-timeouts.js'
import { answerNodeDefaults, clientErrorHandler } from './client-errors.js'
import { WebContext, type WebAppDeps } from './context.js'
import { credentialConstraint } from './credential-dispatch.js'
import { d360Dialect } from './d360/plugin.js'
import { ErrorDialects, type Dialect } from './dialects.js'
import { frameworkErrorHandler, installErrorHandling, MAX_PARAM_LENGTH } from './errors.js'
import { methodLabel, WebMetrics } from './metrics.js'
import { cloudDialect } from './cloud/plugin.js'
import { hubDialect } from './hub/plugin.js'
import { onPremDialect } from './onprem/plugin.js'
import { partnerDialect } from './partner/plugin.js'
import { RateLimiter } from './rate-limit.js'
import { tenantGuard } from './services/partner-tenant-guard.js'
import { malformedQuery, missingHost, nulInJson, nulInParams, nulInQuery } from './request-guards.js'

/**
 * The dialects served, each a plugin folder under webapp/. The first answers what cannot be
 * placed in any (a request line that cannot be read); one may claim the URLs no dialect matches.
 */
export const DIALECTS: readonly Dialect[] = [onPremDialect, hubDialect, partnerDialect, cloudDialect, d360Dialect]

/** The OpenAPI document at `/docs`: every dialect's routes, descriptions and credentials. */
function openapi(version: string, dialects: readonly Dialect[]) {
  return {
    info: { title: 'wabox API', version, description: dialects.map((d) => d.docs.description).join('\n\n') },
    components: { securitySchemes: Object.assign({}, ...dialects.map((d) => d.docs.securitySchemes)) as Record<string, never> },
    security: dialects.flatMap((d) => d.docs.security),
  }
}

/** The JSON parser with the NUL guard: PostgreSQL cannot store NUL, and no field has a use for it. */
function guardJson(app: FastifyInstance): void {
  const json = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, text, done) => {
    json(request, text as string, (err, body) => {
      done(err ?? nulInJson(text as string, body) ?? null, body)
    })
  })
}

/**
 * The HTTP API as a Fastify app (not listening; see startWebServer): what every dialect shares
 * (framework and client errors, JSON parsing guards, metrics, the OpenAPI document), and the
 * dialect plugins. Tests drive it with `app.inject()`.
 */
export async function buildWebApp(deps: WebAppDeps, served: readonly Dialect[] = DIALECTS): Promise<FastifyInstance> {
  const ctx = new WebContext(deps, new RateLimiter(deps.clock))
  const dialects = new ErrorDialects()
  const installed = served.map((dialect) => ({ dialect, errors: dialect.errors(ctx) }))
  for (const { dialect, errors } of installed) dialects.add(errors, { fallback: dialect.fallback ?? false })
  // a client that stalls mid-request is answered 408 (clientErrorHandler) instead of holding its socket forever
  const timeouts = fastifyTimeouts({ requestMs: ctx.limits.requestTimeoutMs, idleMs: ctx.limits.idleTimeoutMs })
  // Node's own check would answer a request without Host outside the envelope: missingHost does it
  const server = { requireHostHeader: false, ...timeouts.http }
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    ...(deps.https ? { https: { ...server, key: deps.https.key, cert: deps.https.cert } } : { http: server }),
    bodyLimit: ctx.limits.jsonBodyBytes,
    requestTimeout: timeouts.requestTimeout,
    connectionTimeout: timeouts.connectionTimeout,
    forceCloseConnections: true,
    // Fastify's own 503 while closing, its URL errors and Node's framing errors are not the envelope
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler(dialects),
    clientErrorHandler: clientErrorHandler(dialects),
    // the credential picks the dialect of a path two dialects share (see credential-dispatch.ts)
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, constraints: { credential: credentialConstraint } },
    rewriteUrl: (req) => served.reduce((url, d) => d.rewriteUrl?.(url) ?? url, req.url ?? '/'),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  }) as unknown as FastifyInstance

  // webhook secrets written in clear by an older version are sealed before anyone reads them
  await deps.store.numbers.sealWebhookSecrets()
  installErrorHandling(app, dialects)
  answerNodeDefaults(app.server, dialects)
  guardJson(app)
  app.decorateRequest('principal', null)
  app.decorateRequest('phoneNumberId', null)

  const metrics = new WebMetrics(deps.registry, deps.nodeName ?? os.hostname(), deps.clock)
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  // before any dialect's own hook, and for unknown paths too
  app.addHook('onRequest', async (request, reply) => {
    metrics.started()
    dialects.seen(request.originalUrl, request.raw.socket)
    if (closing) {
      void reply.header('connection', 'close')
      throw new WaboxError(OnPremCode.SERVICE_NOT_READY, 'This server is shutting down: retry the request, another instance may answer it')
    }
    const refused = missingHost(request) ?? malformedQuery(request.url) ?? nulInParams(request.params) ?? nulInQuery(request.query)
    if (refused) throw refused
  })
  // a suspended client's keys and tokens, and its request ceiling, once a dialect's hook named the caller
  app.addHook('preHandler', async (request, reply) => tenantGuard(ctx).check(request, reply))
  app.addHook('onResponse', async (request, reply) => {
    // a change made through the API shows in the very next request; an unauthenticated caller changed nothing
    const reads = request.method === 'GET' || request.method === 'HEAD'
    if (!reads && request.principal && !request.routeOptions.config.keepCaches) ctx.clearCaches()
    metrics.finished(methodLabel(request.method, request.is404 ? 'unknown' : request.routeOptions.url), reply.statusCode, reply.elapsedTime)
  })

  await app.register(swagger, { openapi: openapi(deps.version, served) })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  for (const { dialect, errors } of installed) await app.register(dialect.plugin, { ctx, errors })
  return app
}
