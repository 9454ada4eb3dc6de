import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { isPlatformType } from '../../domain/hosting.js'
import { retentionProblem } from '../../domain/retention.js'
import type { ApplicationSettings } from '../../domain/settings.js'
import { WEBHOOK_URL_MAX_CHARS } from '../../domain/webhook-config.js'
import type { MediaProvider } from '../../store/profile.js'
import type { WebContext } from '../context.js'
import { invalid, notFound } from '../errors.js'
import { oneOf } from '../schemas.js'
import { checkedWebhookChange, maskedWebhooks } from '../services/webhook-config.js'

const MEDIA_KINDS = ['audio', 'document', 'voice', 'video', 'image', 'sticker'] as const

const ApplicationPatch = Type.Object({
  callback_backoff_delay_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000, description: 'linear retry step, ms (default 3000)' })),
  max_callback_backoff_delay_ms: Type.Optional(Type.Integer({ minimum: 1000, maximum: 86_400_000, description: 'retry delay cap, ms (default 900000)' })),
  callback_persist: Type.Optional(Type.Boolean()),
  db_garbagecollector_enable: Type.Optional(Type.Boolean()),
  retention_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650, description: 'wabox: days message content, media and callback payloads are kept (default 30, at most 30 for a Cloud-hosted number)' })),
  heartbeat_interval: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
  unhealthy_interval: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
  media: Type.Optional(Type.Object({ auto_download: Type.Array(oneOf(MEDIA_KINDS), { uniqueItems: true }) }, { additionalProperties: false })),
  notify_user_change_number: Type.Optional(Type.Boolean()),
  pass_through: Type.Optional(Type.Boolean({ description: 'can no longer be enabled (On-Prem v2.35+)' })),
  sent_status: Type.Optional(Type.Boolean()),
  show_security_notifications: Type.Optional(Type.Boolean()),
  on_call_pager: Type.Optional(Type.String({ description: 'legacy; stored, not used' })),
  axolotl_context_striping_disabled: Type.Optional(Type.Boolean({ description: 'legacy; stored, not used' })),
  wa_id: Type.Optional(Type.String({ description: 'read-only' })),
  webhooks: Type.Optional(Type.Object({
    url: Type.Optional(Type.Union([Type.String({ maxLength: WEBHOOK_URL_MAX_CHARS }), Type.Null()], { description: 'https:// URL; null or "" removes it' })),
    max_concurrent_requests: Type.Optional(oneOf([6, 12, 18, 24] as const)),
    headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'wabox: extra headers on every callback; answered masked, ****** keeps a stored value' })),
    format: Type.Optional(oneOf(['onprem', 'cloud'] as const, { description: 'wabox: callback payload format' })),
    batch_size: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 100 }), Type.Null()], { description: 'wabox: most events per POST; null = 50 for onprem, 1 for cloud' })),
    max_retry_ms: Type.Optional(Type.Integer({ minimum: 60_000, maximum: 30 * 24 * 3600 * 1000, description: 'wabox: Cloud-format retry window' })),
  }, { additionalProperties: false })),
}, { additionalProperties: false })
type ApplicationPatchBody = Static<typeof ApplicationPatch>

const Provider = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  type: Type.Optional(oneOf(['www'] as const)),
  config: Type.Object({
    bearer: Type.Optional(Type.String({ minLength: 1 })),
    basic: Type.Optional(Type.Object({ username: Type.String(), password: Type.String() }, { additionalProperties: false })),
  }, { additionalProperties: false }),
}, { additionalProperties: false })
const Providers = Type.Array(Provider, { minItems: 1 })
const NameParams = Type.Object({ name: Type.String() })
const Pin = Type.Object({ pin: Type.String({ pattern: '^\\d{6}$', description: '6 digits' }) })

export function settingsRoutes(app: FastifyInstance, ctx: WebContext): void {
  const { store } = ctx

  app.get('/v1/settings/application', {
    config: { access: 'admin' },
    schema: { tags: ['settings'], summary: 'Application settings of the number' },
  }, async (request) => {
    const number = await ctx.number(request)
    const settings = store.numbers.settings(number)
    return ctx.ok({ settings: { application: { ...settings, webhooks: maskedWebhooks(settings.webhooks), wa_id: number.wa_id } } })
  })

  app.patch<{ Body: ApplicationPatchBody }>('/v1/settings/application', {
    config: { access: 'admin' },
    schema: { tags: ['settings'], summary: 'Change some application settings (absent fields stay)', body: ApplicationPatch },
  }, async (request) => {
    const number = await ctx.number(request)
    const { wa_id: waId, media, webhooks, ...rest } = request.body
    if (waId !== undefined && waId !== number.wa_id) throw invalid('wa_id', 'is read-only')
    const current = store.numbers.settings(number)
    if (rest.pass_through === true && !current.pass_through) {
      throw invalid('pass_through', 'cannot be enabled again once it is off (On-Prem v2.35 and later)')
    }
    const retention = rest.retention_days === undefined ? undefined : retentionProblem(rest.retention_days, isPlatformType(number.platform_type) ? number.platform_type : 'ON_PREMISE')
    if (retention) throw invalid('retention_days', retention)
    const stored = store.numbers.storedSettings(number)
    const next: Partial<ApplicationSettings> = { ...stored, ...rest }
    if (media) next.media = { ...stored.media, ...media } as ApplicationSettings['media']
    if (webhooks) {
      const { url, headers, ...plain } = webhooks
      const change = await checkedWebhookChange(ctx, 'webhooks.', { url, headers }, current.webhooks)
      next.webhooks = { ...stored.webhooks, ...plain, ...change } as ApplicationSettings['webhooks']
    }
    const merged = { ...current, ...next }
    if (merged.max_callback_backoff_delay_ms < merged.callback_backoff_delay_ms) {
      throw invalid('max_callback_backoff_delay_ms', `must be at least callback_backoff_delay_ms (${merged.callback_backoff_delay_ms})`)
    }
    if (merged.unhealthy_interval < merged.heartbeat_interval) {
      throw invalid('unhealthy_interval', `must be at least heartbeat_interval (${merged.heartbeat_interval})`)
    }
    await store.numbers.saveSettings(number.id, next)
    return ctx.ok()
  })

  app.delete('/v1/settings/application', {
    config: { access: 'admin' },
    schema: { tags: ['settings'], summary: 'Reset the application settings to their defaults' },
  }, async (request) => {
    const number = await ctx.number(request)
    await store.numbers.saveSettings(number.id, {})
    return ctx.ok()
  })

  app.get('/v1/settings/application/media/providers', {
    config: { access: 'admin' },
    schema: { tags: ['settings'], summary: 'Media providers for link media that needs credentials' },
  }, async (request) => {
    const number = await ctx.number(request)
    return ctx.ok({ settings: { application: { media: { providers: await store.profiles.mediaProviders(number.id) } } } })
  })

  app.post<{ Body: Static<typeof Providers> }>('/v1/settings/application/media/providers', {
    config: { access: 'admin' },
    schema: { tags: ['settings'], summary: 'Add or replace media providers (by name)', body: Providers },
  }, async (request) => {
    const number = await ctx.number(request)
    const byName = new Map((await store.profiles.mediaProviders(number.id)).map((p) => [p.name, p]))
    request.body.forEach((p, i) => {
      const { bearer, basic } = p.config
      if ((bearer === undefined) === (basic === undefined)) throw invalid(`[${i}].config`, 'must hold exactly one of bearer or basic')
      const provider: MediaProvider = { name: p.name, type: p.type ?? 'www', config: bearer !== undefined ? { bearer } : { basic } }
      byName.set(p.name, provider)
    })
    await store.profiles.saveMediaProviders(number.id, [...byName.values()])
    return ctx.ok()
  })

  app.delete<{ Params: Static<typeof NameParams> }>('/v1/settings/application/media/providers/:name', {
    config: { access: 'admin' },
    schema: { tags: ['settings'], summary: 'Remove a media provider', params: NameParams },
  }, async (request) => {
    const number = await ctx.number(request)
    const providers = await store.profiles.mediaProviders(number.id)
    const rest = providers.filter((p) => p.name !== request.params.name)
    if (rest.length === providers.length) throw notFound(`No media provider named '${request.params.name}'`)
    await store.profiles.saveMediaProviders(number.id, rest)
    return ctx.ok()
  })

  app.post<{ Body: Static<typeof Pin> }>('/v1/settings/account/two-step', {
    config: { access: 'admin' },
    schema: { tags: ['settings'], summary: 'Enable or change two-step verification', body: Pin },
  }, async (request) => {
    const number = await ctx.number(request)
    await ctx.deps.bridge.setPin(number.id, request.body.pin)
    return ctx.ok()
  })

  app.delete('/v1/settings/account/two-step', {
    config: { access: 'admin' },
    schema: { tags: ['settings'], summary: 'Disable two-step verification' },
  }, async (request) => {
    const number = await ctx.number(request)
    await ctx.deps.bridge.setPin(number.id, null)
    return ctx.ok()
  })
}
