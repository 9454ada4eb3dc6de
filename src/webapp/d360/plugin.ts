import type { FastifyInstance } from 'fastify'
import type { WebContext } from '../context.js'
import type { Dialect, DialectErrors } from '../dialects.js'
import { dialectErrorHandler } from '../errors.js'
import { identifyKey } from './auth.js'
import { d360Errors } from './envelope.js'
import { d360MediaRoutes } from './media.js'
import { d360MessagesRoutes } from './messages.js'
import { d360ProfileRoutes } from './profile.js'
import { d360TemplatesRoutes } from './templates.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A waba-v2 route: what it does, for the answer to a key of an On-Premises number ("send its messages (POST /v1/messages)"). */
    d360?: string
  }
}

/**
 * 360dialog's waba-v2 routes in one encapsulated context: root paths, `D360-API-KEY` naming
 * the number, Meta's bodies and the Graph envelope. The send, media and profile work is the
 * shared services' and the Cloud dialect's; `/v1/configs/webhook` is On-Prem's route, which
 * answers in the shape of the number's platform.
 */
async function d360Plugin(app: FastifyInstance, opts: { ctx: WebContext; errors: DialectErrors }): Promise<void> {
  const { ctx } = opts
  app.setErrorHandler(dialectErrorHandler(opts.errors))
  app.addHook('onRequest', async (request) => {
    await identifyKey(ctx, request, request.routeOptions.config.d360 ?? 'use it')
  })
  d360MessagesRoutes(app, ctx)
  d360ProfileRoutes(app, ctx)
  d360TemplatesRoutes(app, ctx)
  await d360MediaRoutes(app, ctx)
}

/** 360dialog's Cloud API proxy (waba-v2) for Cloud-hosted numbers. */
export const d360Dialect: Dialect = {
  name: 'd360',
  errors: () => d360Errors,
  plugin: d360Plugin,
  docs: {
    description: '360dialog\'s waba-v2 (Cloud API proxy): root paths `/messages`, `/media`, `/{media_id}`, `/whatsapp_business_profile`, '
      + '`/v1/configs/webhook`, `/v1/configs/templates` with `D360-API-KEY` of a Cloud-hosted number, Meta\'s bodies and Graph errors. See docs/api.md.',
    // the header scheme `d360` is declared by the On-Prem dialect, which takes the same keys
    securitySchemes: {},
    security: [],
  },
}
