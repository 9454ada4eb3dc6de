import type { FastifyError, FastifyInstance } from 'fastify'
import { renderOnPrem } from '../../errors/index.js'
import { HubQueries } from '../../store/hub-queries.js'
import type { WebContext } from '../context.js'
import type { Dialect, DialectErrors } from '../dialects.js'
import { dialectErrorHandler } from '../errors.js'
import { hubApiRoutes } from './api.js'
import { ChartSampler } from './charts.js'
import { HubEventBus } from './event-bus.js'
import { hubEventRoutes, SessionStreams } from './events.js'
import { hubPhoneRoutes } from './phones-api.js'
import { HubRefusal } from './ports.js'
import { checkOrigin, cookieValue, requireSession, SESSION_COOKIE, sessionRoutes } from './session.js'
import { hubTemplateRoutes } from './templates-api.js'
import { CONTENT_SECURITY_POLICY, defaultAssetsDir, hubStaticRoutes } from './static.js'

function isHubPath(path: string): boolean {
  return path === '/hub' || path.startsWith('/hub/')
}

/** Errors as `{ error: { code, title, details } }` with On-Prem codes; a phone's refusal with its own status. */
function hubErrors(ctx: WebContext): DialectErrors {
  return {
    matches: isHubPath,
    render: (err) => ({ status: err.httpStatusFor('onprem'), body: { error: renderOnPrem(err, ctx.deps.version).errors[0] } }),
  }
}

/** The Hub: its page and files, the session, the JSON API and the event stream under `/hub/`. */
async function hubPlugin(app: FastifyInstance, opts: { ctx: WebContext; errors: DialectErrors }): Promise<void> {
  const { ctx } = opts
  const hub = ctx.deps.hub ?? { events: new HubEventBus() }
  await ctx.store.users.ensureDefaultAdmin()
  const handle = dialectErrorHandler(opts.errors)
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof HubRefusal) return reply.code(err.status).send({ error: { code: 'refused', title: 'Refused', details: err.message } })
    return handle(err, request, reply)
  })
  app.addHook('onRequest', async (request, reply) => {
    void reply.headers({
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    })
    if (!request.url.startsWith('/hub/api/')) return
    checkOrigin(request)
    const signingIn = request.routeOptions.url === '/hub/api/session' && request.method !== 'GET'
    if (!signingIn) await requireSession(ctx, request)
  })

  const charts = new ChartSampler(ctx.deps.registry, new HubQueries(ctx.store.ctx), ctx.deps.clock, hub.events)
  hubStaticRoutes(app, hub.assetsDir ?? defaultAssetsDir())
  const streams = new SessionStreams()
  sessionRoutes(app, ctx, streams)
  hubApiRoutes(app, ctx, { events: hub.events, wakeDispatcher: hub.wakeDispatcher, phonesAvailable: hub.phones !== undefined })
  hubEventRoutes(app, hub.events, charts, streams, {
    tokenOf: (request) => cookieValue(request.headers.cookie, SESSION_COOKIE) ?? '',
    stillValid: async (token) => (await ctx.store.users.verifyToken(token)) !== undefined,
  })
  hubTemplateRoutes(app, ctx, hub.templateReview)
  if (hub.phones) hubPhoneRoutes(app, hub.phones, hub.events)
}

/** The Hub, a web console for operators and developers at `/hub/` (docs/hub.md). */
export const hubDialect: Dialect = {
  name: 'hub',
  errors: hubErrors,
  plugin: hubPlugin,
  docs: {
    description: 'The Hub: a web console at /hub/ (sign in as the deployment admin). See docs/hub.md.',
    securitySchemes: {},
    security: [],
  },
}
