import os from 'node:os'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { OnPremCode, WaboxError } from '../errors/index.js'
import { WebhookService } from '../webhooks/service.js'
import { authenticate, type Access } from './auth.js'
import { WebContext, type WebAppDeps } from './context.js'
import { answerNodeDefaults, clientErrorHandler } from './client-errors.js'
import { frameworkErrorHandler, installErrorHandling, MAX_PARAM_LENGTH, unauthorized } from './errors.js'
import { methodLabel, WebMetrics } from './metrics.js'
import { accountRoutes } from './onprem/account.js'
import { backupRoutes } from './onprem/backup.js'
import { callbacksRoutes } from './onprem/callbacks.js'
import { certificateRoutes } from './onprem/certificates.js'
import { configsRoutes } from './onprem/configs.js'
import { contactsRoutes } from './onprem/contacts.js'
import { mediaRoutes } from './onprem/media.js'
import { messagesRoutes } from './onprem/messages.js'
import { monitoringRoutes } from './onprem/monitoring.js'
import { profileRoutes } from './onprem/profile.js'
import { settingsRoutes } from './onprem/settings.js'
import { usersRoutes } from './onprem/users.js'
import { RateLimiter } from './rate-limit.js'
import { malformedQuery, missingHost, nulInJson, nulInParams } from './request-guards.js'

function accessOf(request: FastifyRequest): Access | undefined {
  const access = request.routeOptions.config.access
  if (access) return access
  // routes of @fastify/swagger-ui carry no access class
  const route = request.routeOptions.url ?? ''
  return route === '/docs' || route.startsWith('/docs/') ? 'public' : undefined
}

/**
 * The On-Premises `/v1` API as a Fastify app (not listening; see startWebServer). Tests drive
 * it with `app.inject()`.
 */
export async function buildWebApp(deps: WebAppDeps): Promise<FastifyInstance> {
  const ctx = new WebContext(deps, new RateLimiter(deps.clock))
  // Node's own check would answer a request without Host outside the envelope: missingHost does it
  const server = { requireHostHeader: false }
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    ...(deps.https ? { https: { ...server, key: deps.https.key, cert: deps.https.cert } } : { http: server }),
    bodyLimit: ctx.limits.jsonBodyBytes,
    forceCloseConnections: true,
    // Fastify's own 503 while closing, its URL errors and Node's framing errors are not the envelope
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler(deps.version),
    clientErrorHandler: clientErrorHandler(deps.version),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  }) as unknown as FastifyInstance

  await deps.store.users.ensureDefaultAdmin()
  // webhook secrets written in clear by an older version are sealed before anyone reads them
  await deps.store.numbers.sealWebhookSecrets()
  installErrorHandling(app, deps.version)
  answerNodeDefaults(app.server, deps.version)
  const json = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, text, done) => {
    json(request, text as string, (err, body) => {
      done(err ?? nulInJson(text as string, body) ?? null, body)
    })
  })
  app.decorateRequest('principal', null)
  app.decorateRequest('phoneNumberId', null)

  const metrics = new WebMetrics(deps.registry, deps.nodeName ?? os.hostname(), deps.clock)
  const messagesRule = { perSecond: ctx.limits.messagesPerSecond, burst: ctx.limits.messagesBurst }
  const otherRule = { perSecond: ctx.limits.otherPerSecond, burst: ctx.limits.otherBurst }

  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onRequest', async (request, reply) => {
    metrics.started()
    if (closing) {
      void reply.header('connection', 'close')
      throw new WaboxError(OnPremCode.SERVICE_NOT_READY, 'This server is shutting down: retry the request, another instance may answer it')
    }
    const refused = missingHost(request) ?? malformedQuery(request.url) ?? nulInParams(request.params)
    if (refused) throw refused
    if (request.is404) return
    const access = accessOf(request)
    if (!access) throw unauthorized('This endpoint has no access rule')
    if (access === 'public') return
    await authenticate(request, access, ctx)
    // per number when the caller has one, else per user or client address (login)
    const p = request.principal
    const who = request.phoneNumberId ?? (p?.kind === 'user' ? `user:${p.username}` : `ip:${request.ip}`)
    const sending = request.method === 'POST' && request.routeOptions.url === '/v1/messages'
    const rule = sending ? messagesRule : otherRule
    if (!ctx.rateLimiter.take(rule, `${sending ? 'send' : 'api'}|${who}`)) {
      void reply.header('retry-after', '1')
      throw new WaboxError(OnPremCode.TOO_MANY_REQUESTS,
        `More than ${rule.perSecond} requests per second (bursts to ${rule.burst}) to ${sending ? '/v1/messages' : 'this API'}; slow down and retry`)
    }
  })
  app.addHook('onResponse', async (request, reply) => {
    // a change made through the API shows in the very next request; an unauthenticated caller changed nothing
    const reads = request.method === 'GET' || request.method === 'HEAD'
    if (!reads && request.principal && !request.routeOptions.config.keepCaches) ctx.clearCaches()
    metrics.finished(methodLabel(request.method, request.is404 ? 'unknown' : request.routeOptions.url), reply.statusCode, reply.elapsedTime)
  })

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'wabox On-Premises API',
        version: deps.version,
        description: 'The WhatsApp Business On-Premises /v1 API with 360dialog-style API keys. See docs/api.md.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'token from POST /v1/users/login' },
          basic: { type: 'http', scheme: 'basic', description: 'POST /v1/users/login only' },
          d360: { type: 'apiKey', in: 'header', name: 'D360-API-KEY' },
          apikey: { type: 'apiKey', in: 'header', name: 'Authorization', description: '"Apikey <key>" (health, metrics, stats)' },
        },
      },
      security: [{ bearer: [] }, { d360: [] }, { apikey: [] }],
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })

  usersRoutes(app, ctx)
  messagesRoutes(app, ctx)
  contactsRoutes(app, ctx)
  settingsRoutes(app, ctx)
  profileRoutes(app, ctx)
  backupRoutes(app, ctx)
  accountRoutes(app, ctx)
  configsRoutes(app, ctx)
  callbacksRoutes(app, ctx, deps.webhooks ?? new WebhookService({ store: deps.store }))
  monitoringRoutes(app, ctx)
  certificateRoutes(app, ctx)
  await app.register(async (raw) => mediaRoutes(raw, ctx))
  return app
}
