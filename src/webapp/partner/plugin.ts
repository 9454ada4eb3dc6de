import type { FastifyInstance } from 'fastify'
import type { WebContext } from '../context.js'
import type { Dialect, DialectErrors } from '../dialects.js'
import type { PartnerDeps } from '../services/partner-clients.js'
import { tenantGuard } from '../services/partner-tenant-guard.js'
import { accountRoutes } from './accounts.js'
import { identifyPartner } from './auth.js'
import { PartnerRefusal } from '../services/partner-refusal.js'
import { channelRoutes } from './channels.js'
import { partnerErrorHandler, partnerErrors } from './envelope.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route checks a two-step PIN: limited per partner (`partnerPinChecks*` of WebAppLimits). */
    pinCheck?: boolean
  }
}

/** The Partner API under `/partner/v1/`: partner key pairs over HTTP Basic, its own error format. */
async function partnerPlugin(app: FastifyInstance, opts: { ctx: WebContext; errors: DialectErrors }): Promise<void> {
  const { ctx } = opts
  app.setErrorHandler(partnerErrorHandler(opts.errors))
  app.decorateRequest('partner', null)
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('cache-control', 'no-store')
    const actor = await identifyPartner(ctx.store, request)
    if (!request.routeOptions.config.pinCheck) return
    const rule = { perSecond: ctx.limits.partnerPinChecksPerSecond, burst: ctx.limits.partnerPinChecksBurst }
    if (!ctx.rateLimiter.take(rule, `partner-pin|${actor.partnerId}`)) {
      void reply.header('retry-after', String(Math.ceil(1 / rule.perSecond)))
      throw new PartnerRefusal('rate_limited', `More than ${rule.perSecond} PIN checks per second (bursts to ${rule.burst}) for this partner; slow down and retry`)
    }
  })
  const deps: PartnerDeps = {
    store: ctx.store,
    homeMediaRoot: ctx.deps.media.root,
    changed: () => {
      ctx.clearCaches()
      tenantGuard(ctx).clear()
    },
  }
  accountRoutes(app, ctx, deps)
  channelRoutes(app, ctx, deps)
}

/** The Partner API (docs/partner.md): clients, WABAs, channels, their credentials and the audit log. */
export const partnerDialect: Dialect = {
  name: 'partner',
  errors: () => partnerErrors,
  plugin: partnerPlugin,
  docs: {
    description: 'The Partner API under /partner/v1/: clients, WABAs, channels (numbers), their API keys and Graph tokens, webhooks, '
      + 'suspension and the audit log, with a partner key pair as HTTP Basic `key_id:secret`. See docs/partner.md.',
    securitySchemes: {
      partnerKey: { type: 'http', scheme: 'basic', description: 'a partner key pair, key_id as the user name and secret as the password (Partner API paths)' },
    },
    security: [{ partnerKey: [] }],
  },
}
