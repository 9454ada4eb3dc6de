import type { FastifyInstance } from 'fastify'
import type { WebContext } from '../context.js'
import type { Dialect, DialectErrors } from '../dialects.js'
import type { PartnerDeps } from '../services/partner-clients.js'
import { tenantGuard } from '../services/partner-tenant-guard.js'
import { accountRoutes } from './accounts.js'
import { identifyPartner } from './auth.js'
import { channelRoutes } from './channels.js'
import { partnerErrorHandler, partnerErrors } from './envelope.js'

/** The Partner API under `/partner/v1/`: partner key pairs over HTTP Basic, its own error format. */
async function partnerPlugin(app: FastifyInstance, opts: { ctx: WebContext; errors: DialectErrors }): Promise<void> {
  const { ctx } = opts
  app.setErrorHandler(partnerErrorHandler(opts.errors))
  app.decorateRequest('partner', null)
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('cache-control', 'no-store')
    await identifyPartner(ctx.store, request)
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
