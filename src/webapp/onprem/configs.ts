import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { WebContext } from '../context.js'
import { setWebhook, webhookOf } from '../services/webhook-config.js'

const WebhookConfig = Type.Object({
  url: Type.String({ minLength: 1, maxLength: 2048, description: 'https:// URL of the webhook receiver' }),
  headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'sent with every callback, e.g. {"Authorization": "Basic …"}' })),
})

/** The 360dialog configuration endpoints, available to D360-API-KEY callers. */
export function configsRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.post<{ Body: Static<typeof WebhookConfig> }>('/v1/configs/webhook', {
    config: { access: 'number' },
    schema: {
      tags: ['360dialog'],
      summary: 'Set the webhook URL (and headers) of the number; echoes them with URL credentials and header values masked',
      description: 'A header value or URL password sent as ****** keeps the one stored.',
      body: WebhookConfig,
    },
  }, async (request) => {
    const number = await ctx.number(request)
    return ctx.ok(await setWebhook(ctx, number, { url: request.body.url, headers: request.body.headers ?? {} }))
  })

  app.get('/v1/configs/webhook', {
    config: { access: 'number' },
    schema: { tags: ['360dialog'], summary: 'The webhook URL and headers of the number, URL credentials and header values masked' },
  }, async (request) => {
    return ctx.ok(webhookOf(ctx, await ctx.number(request)))
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
