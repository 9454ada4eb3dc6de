import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { ApplicationSettings } from '../../domain/settings.js'
import type { WebContext } from '../context.js'
import { checkWebhookUrl } from './settings.js'

const WebhookConfig = Type.Object({
  url: Type.String({ minLength: 1, maxLength: 2048, description: 'https:// URL of the webhook receiver' }),
  headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'sent with every callback, e.g. {"Authorization": "Basic …"}' })),
})

/** The 360dialog configuration endpoints, available to D360-API-KEY callers. */
export function configsRoutes(app: FastifyInstance, ctx: WebContext): void {
  const { store } = ctx

  app.post<{ Body: Static<typeof WebhookConfig> }>('/v1/configs/webhook', {
    config: { access: 'number' },
    schema: { tags: ['360dialog'], summary: 'Set the webhook URL (and headers) of the number; echoes them', body: WebhookConfig },
  }, async (request) => {
    const number = await ctx.number(request)
    const url = checkWebhookUrl('url', request.body.url, ctx.deps.allowInsecureWebhooks ?? false)
    const headers = request.body.headers ?? {}
    const stored = JSON.parse(number.settings) as Partial<ApplicationSettings>
    const webhooks = { ...stored.webhooks, url, headers } as ApplicationSettings['webhooks']
    await store.numbers.saveSettings(number.id, { ...stored, webhooks })
    return ctx.ok({ url, headers })
  })

  app.get('/v1/configs/webhook', {
    config: { access: 'number' },
    schema: { tags: ['360dialog'], summary: 'The webhook URL and headers of the number' },
  }, async (request) => {
    const number = await ctx.number(request)
    const { url, headers } = store.numbers.settings(number).webhooks
    return ctx.ok({ url, headers })
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
