import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { OnPremCode, renderOnPrem, WaboxError } from '../../errors/index.js'
import { authenticate, type Access } from '../auth.js'
import type { WebContext } from '../context.js'
import type { Dialect, DialectErrors } from '../dialects.js'
import { dialectErrorHandler, unauthorized } from '../errors.js'
import { accountRoutes } from './account.js'
import { backupRoutes } from './backup.js'
import { callbacksRoutes } from './callbacks.js'
import { certificateRoutes } from './certificates.js'
import { configsRoutes } from './configs.js'
import { contactsRoutes } from './contacts.js'
import { mediaRoutes } from './media.js'
import { messagesRoutes } from './messages.js'
import { monitoringRoutes } from './monitoring.js'
import { profileRoutes } from './profile.js'
import { settingsRoutes } from './settings.js'
import { usersRoutes } from './users.js'

/** On-Prem's paths: the `/v1` API, and `/metrics` and the `/docs` it has always served. */
function isOnPremPath(path: string): boolean {
  return path === '/v1' || path.startsWith('/v1/') || path === '/metrics' || path === '/docs' || path.startsWith('/docs/')
}

function onPremErrors(ctx: WebContext): DialectErrors {
  const { version } = ctx.deps
  return {
    matches: isOnPremPath,
    render: (err) => ({ status: err.httpStatusFor('onprem'), body: renderOnPrem(err, version) }),
  }
}

/** Authenticates and rate-limits every On-Prem route by its access class (see auth.ts). */
async function guard(ctx: WebContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const access: Access | undefined = request.routeOptions.config.access
  if (!access) throw unauthorized('This endpoint has no access rule')
  if (access === 'public') return
  await authenticate(request, access, ctx)
  // per number when the caller has one, else per user or client address (login)
  const p = request.principal
  const who = request.phoneNumberId ?? (p?.kind === 'user' ? `user:${p.username}` : `ip:${request.ip}`)
  const sending = request.method === 'POST' && request.routeOptions.url === '/v1/messages'
  const rule = sending
    ? { perSecond: ctx.limits.messagesPerSecond, burst: ctx.limits.messagesBurst }
    : { perSecond: ctx.limits.otherPerSecond, burst: ctx.limits.otherBurst }
  if (!ctx.rateLimiter.take(rule, `${sending ? 'send' : 'api'}|${who}`)) {
    void reply.header('retry-after', '1')
    throw new WaboxError(OnPremCode.TOO_MANY_REQUESTS,
      `More than ${rule.perSecond} requests per second (bursts to ${rule.burst}) to ${sending ? '/v1/messages' : 'this API'}; slow down and retry`)
  }
}

/** Every On-Prem route in one encapsulated context: its auth and rate-limit hook, its envelope. */
async function onPremPlugin(app: FastifyInstance, opts: { ctx: WebContext; errors: DialectErrors }): Promise<void> {
  const { ctx } = opts
  await ctx.store.users.ensureDefaultAdmin()
  app.setErrorHandler(dialectErrorHandler(opts.errors))
  app.addHook('onRequest', async (request, reply) => guard(ctx, request, reply))

  usersRoutes(app, ctx)
  messagesRoutes(app, ctx)
  contactsRoutes(app, ctx)
  settingsRoutes(app, ctx)
  profileRoutes(app, ctx)
  backupRoutes(app, ctx)
  accountRoutes(app, ctx)
  configsRoutes(app, ctx)
  callbacksRoutes(app, ctx)
  monitoringRoutes(app, ctx)
  certificateRoutes(app, ctx)
  await app.register(async (raw) => mediaRoutes(raw, ctx))
}

/** The On-Premises `/v1` API with 360dialog-style API keys. */
export const onPremDialect: Dialect = {
  name: 'onprem',
  errors: onPremErrors,
  plugin: onPremPlugin,
  docs: {
    description: 'The WhatsApp Business On-Premises /v1 API with 360dialog-style API keys. See docs/api.md.',
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'token from POST /v1/users/login' },
      basic: { type: 'http', scheme: 'basic', description: 'POST /v1/users/login only' },
      d360: { type: 'apiKey', in: 'header', name: 'D360-API-KEY' },
      apikey: { type: 'apiKey', in: 'header', name: 'Authorization', description: '"Apikey <key>" (health, metrics, stats)' },
    },
    security: [{ bearer: [] }, { d360: [] }, { apikey: [] }],
  },
}
