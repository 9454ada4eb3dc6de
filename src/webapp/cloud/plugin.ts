import type { FastifyError, FastifyInstance } from 'fastify'
import type { WebContext } from '../context.js'
import type { Dialect, DialectErrors } from '../dialects.js'
import { dialectErrorHandler } from '../errors.js'
import { wabaKind } from './analytics.js'
import { CloudAuth } from './auth.js'
import { cloudErrors } from './envelope.js'
import { businessProfileRoutes } from './business-profile.js'
import { cloudMediaRoutes, mediaKind } from './media.js'
import { messagesRoutes } from './messages.js'
import { GraphObjects } from './objects.js'
import { isGraphPath, unversionedUrl } from './paths.js'
import { phoneNumberKind, phoneNumbersRoutes } from './phone-numbers.js'
import { registrationRoutes, twoStepKind } from './registration.js'
import { cloudTemplatesRoutes, templateKind } from './templates.js'
import { cloudWebhookRoutes } from './webhooks.js'

function pathOf(url: string): string {
  return url.split('?')[0] ?? ''
}

/**
 * Every Cloud route in one encapsulated context: Bearer access tokens, the Graph envelope.
 * Routes are registered unversioned; `unversionedUrl` maps `/v23.0/…` (any version) onto them.
 * Route modules that serve a bare `/{id}` add a kind to `objects` instead of a route.
 */
async function cloudPlugin(app: FastifyInstance, opts: { ctx: WebContext; errors: DialectErrors }): Promise<void> {
  const { ctx } = opts
  const graphErrors = dialectErrorHandler(opts.errors)
  app.setErrorHandler((err: FastifyError, request, reply) => {
    // a root hook's error on such a path: the root-level handler picks its envelope
    if (!isGraphPath(pathOf(request.originalUrl))) throw err
    graphErrors(err, request, reply)
  })
  const auth = new CloudAuth(ctx)
  app.addHook('onRequest', async (request, reply) => {
    // `/` and `*` match `/:id` with an empty or odd id: they are nobody's paths, not Graph objects
    if (!isGraphPath(pathOf(request.originalUrl))) return reply.callNotFound()
    await auth.identify(request)
  })

  const objects = new GraphObjects()
  objects.add(phoneNumberKind(ctx))
  objects.add(mediaKind(ctx))
  // before the webhook override: a POST /{phone_number_id} with a pin is two-step verification
  objects.add(twoStepKind(ctx))
  objects.add(wabaKind(ctx))
  messagesRoutes(app, ctx)
  phoneNumbersRoutes(app, ctx)
  cloudTemplatesRoutes(app, ctx)
  registrationRoutes(app, ctx)
  businessProfileRoutes(app, ctx)
  await cloudMediaRoutes(app, ctx)
  await cloudWebhookRoutes(app, ctx, objects)
  // last: finding a template asks the network
  objects.add(templateKind(ctx))
  objects.routes(app)
}

/** The Cloud API (Meta's Graph paths) with system-user access tokens bound to a WABA. */
export const cloudDialect: Dialect = {
  name: 'cloud',
  errors: () => cloudErrors,
  rewriteUrl: unversionedUrl,
  plugin: cloudPlugin,
  docs: {
    description: 'The WhatsApp Cloud API: Graph paths `/{phone_number_id}/messages`, `/{waba_id}/phone_numbers`, `/{id}` …, '
      + 'each also under any version prefix (`/v23.0/…`), with system-user access tokens (`wabox tokens create`) and Graph errors. See docs/api.md.',
    securitySchemes: {
      graphToken: { type: 'http', scheme: 'bearer', description: 'a system-user access token of a WABA (Cloud API paths)' },
    },
    security: [{ graphToken: [] }],
  },
}
