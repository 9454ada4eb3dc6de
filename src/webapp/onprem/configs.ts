import { Type, type Static } from '@sinclair/typebox'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { WEBHOOK_URL_MAX_CHARS } from '../../domain/webhook-config.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import { cloudErrors } from '../cloud/envelope.js'
import { keyNumberOf } from '../auth.js'
import type { WebContext } from '../context.js'
import { dialectErrorHandler } from '../errors.js'
import { setWebhook, webhookOf, type WebhookView } from '../services/webhook-config.js'

const WebhookConfig = Type.Object({
  url: Type.String({ minLength: 1, maxLength: WEBHOOK_URL_MAX_CHARS, description: 'https:// URL of the webhook receiver' }),
  headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'sent with every callback, e.g. {"Authorization": "Basic …"}' })),
})

const isCloud = (number: PhoneNumberRow) => number.platform_type === 'CLOUD_API'

/** A Cloud-hosted number's webhook as 360dialog's waba-v2 shows it: `{url}`, and the headers when there are any. */
function cloudShape(view: WebhookView): object {
  return Object.keys(view.headers).length > 0 ? view : { url: view.url }
}

/**
 * `/v1/configs/webhook` is 360dialog's path on both platforms, so its answers, errors included,
 * take the shape of the caller's number: On-Prem's envelope with `meta`, or waba-v2's
 * bare body and the Graph error envelope for a Cloud-hosted number.
 */
function byPlatform(ctx: WebContext, onPrem: FastifyInstance['errorHandler']) {
  const graph = dialectErrorHandler(cloudErrors)
  return async (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    // a request refused before authentication finished (a key of the wrong scope) has no number yet
    const id = request.phoneNumberId ?? await keyNumberOf(request, ctx).catch(() => null)
    const number = id ? await ctx.numberById(id) : undefined
    return (number && isCloud(number) ? graph : onPrem).call(request.server, err, request, reply)
  }
}

/** The 360dialog configuration endpoints, available to D360-API-KEY callers. */
export function configsRoutes(app: FastifyInstance, ctx: WebContext): void {
  const errorHandler = byPlatform(ctx, app.errorHandler)
  app.post<{ Body: Static<typeof WebhookConfig> }>('/v1/configs/webhook', {
    config: { access: 'number' },
    errorHandler,
    schema: {
      tags: ['360dialog'],
      summary: 'Set the webhook URL (and headers) of the number; echoes them with URL credentials and header values masked',
      description: 'A header value or URL password sent as ****** keeps the one stored. '
        + 'For a Cloud-hosted number (360dialog waba-v2) the answer is {url} (and headers, if any) and errors are Graph errors.',
      body: WebhookConfig,
    },
  }, async (request) => {
    const number = await ctx.number(request)
    const view = await setWebhook(ctx, number, { url: request.body.url, headers: request.body.headers ?? {} })
    return isCloud(number) ? cloudShape(view) : ctx.ok(view)
  })

  app.get('/v1/configs/webhook', {
    config: { access: 'number' },
    errorHandler,
    schema: { tags: ['360dialog'], summary: 'The webhook URL and headers of the number, URL credentials and header values masked ({url} for a Cloud-hosted number)' },
  }, async (request) => {
    const number = await ctx.number(request)
    const view = webhookOf(ctx, number)
    return isCloud(number) ? cloudShape(view) : ctx.ok(view)
  })

  app.get('/v1/configs/phone_number', {
    config: { access: 'number' },
    schema: { tags: ['360dialog'], summary: 'The phone number behind these credentials' },
  }, async (request) => {
    const number = await ctx.number(request)
    return ctx.ok({
      id: number.id,
      phone_number: `+${number.wa_id}`,
      wa_id: number.wa_id,
      verified_name: number.display_name,
      status: number.status,
      gateway_status: number.gateway_status,
    })
  })
}
