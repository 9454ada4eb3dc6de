import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { WEBHOOK_URL_MAX_CHARS } from '../../domain/webhook-config.js'
import type { WebContext } from '../context.js'
import { addChannel, channelView, listChannels, partnerChannel, registerChannel, setChannelWebhook, type RegistrationStep } from '../services/partner-channels.js'
import type { PartnerDeps } from '../services/partner-clients.js'
import { issueApiKey, listApiKeys, revokeApiKey, rotateApiKey } from '../services/partner-credentials.js'
import { PartnerRefusal } from '../services/partner-refusal.js'
import { webhookOf } from '../services/webhook-config.js'
import { actorOf } from './auth.js'
import { bodyOf, toJson } from './envelope.js'

type Params = Record<string, string>

// a repeated key would reach the store as an array: one string each, no longer than an id
const ListQuery = Type.Object({
  client_id: Type.Optional(Type.String({ maxLength: 100 })),
  waba_id: Type.Optional(Type.String({ maxLength: 100 })),
}, { additionalProperties: true })

function stringField(body: Record<string, unknown>, name: string, rule: RegExp, what: string): string {
  const value = body[name]
  if (typeof value !== 'string' || !rule.test(value)) throw new PartnerRefusal('invalid_request', `'${name}' must be ${what}`)
  return value
}

function registrationStep(step: RegistrationStep['step'], body: Record<string, unknown>): RegistrationStep {
  if (step === 'request_code') {
    const method = body.method ?? 'sms'
    if (method !== 'sms' && method !== 'voice') throw new PartnerRefusal('invalid_request', "'method' must be 'sms' or 'voice'")
    return { step, method }
  }
  if (step === 'verify_code') return { step, code: stringField(body, 'code', /^[0-9]{6}$/, 'the 6-digit code') }
  return { step, pin: stringField(body, 'pin', /^[0-9]{6}$/, 'a 6-digit two-step verification PIN') }
}

function webhookChange(body: Record<string, unknown>): { url: string; headers: Record<string, string> } {
  // the cap of /v1/configs/webhook
  if (typeof body.url !== 'string' || body.url.length > WEBHOOK_URL_MAX_CHARS) throw new PartnerRefusal('invalid_request', `'url' must be the webhook URL (https://…), at most ${WEBHOOK_URL_MAX_CHARS} characters`)
  const headers = body.headers ?? {}
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers) || !Object.values(headers).every((v) => typeof v === 'string')) {
    throw new PartnerRefusal('invalid_request', "'headers' must be an object of string values")
  }
  return { url: body.url, headers: headers as Record<string, string> }
}

/** Channels (numbers): list, add and register on the network, their webhook and API keys. */
export function channelRoutes(app: FastifyInstance, ctx: WebContext, deps: PartnerDeps): void {
  const a = (request: FastifyRequest) => actorOf(request)
  const tags = ['partner']
  const id = (request: FastifyRequest<{ Params: Params }>) => request.params.phone_number_id!

  app.get<{ Querystring: Static<typeof ListQuery> }>('/partner/v1/channels', { schema: { tags, summary: 'Channels with phone_number_id, wa_id, platform_type, status, quality and tier; filter by client_id, waba_id', querystring: ListQuery } }, async (request) => {
    const { client_id: clientId, waba_id: wabaId } = request.query
    return { data: toJson(await listChannels(deps, a(request), { ...(clientId !== undefined ? { clientId } : {}), ...(wabaId !== undefined ? { wabaId } : {}) })) }
  })
  app.post('/partner/v1/channels', { schema: { tags, summary: 'Add a channel {waba_id, cc, phone_number, display_name, cert?}; then request_code, verify_code, register' } }, async (request, reply) =>
    reply.code(201).send(toJson(await addChannel(ctx, a(request), bodyOf(request)))))
  app.get<{ Params: Params }>('/partner/v1/channels/:phone_number_id', { schema: { tags, summary: 'A channel' } }, async (request) =>
    toJson(channelView(await partnerChannel(deps, a(request), id(request)))))
  for (const step of ['request_code', 'verify_code', 'register'] as const) {
    app.post<{ Params: Params }>(`/partner/v1/channels/:phone_number_id/${step}`, { config: { pinCheck: step === 'register' }, schema: { tags, summary: `Registration on the network: ${step}` } }, async (request) =>
      toJson(await registerChannel(ctx, a(request), id(request), registrationStep(step, bodyOf(request)), request.log)))
  }

  app.get<{ Params: Params }>('/partner/v1/channels/:phone_number_id/webhook', { schema: { tags, summary: "A channel's webhook URL and headers (masked)" } }, async (request) => {
    const channel = await partnerChannel(deps, a(request), id(request))
    const number = await ctx.numberById(channel.id)
    if (!number) throw new PartnerRefusal('not_found', `No channel '${channel.id}'`)
    return webhookOf(ctx, number)
  })
  app.put<{ Params: Params }>('/partner/v1/channels/:phone_number_id/webhook', { schema: { tags, summary: "Set a channel's webhook {url, headers?}" } }, async (request) =>
    setChannelWebhook(ctx, a(request), id(request), webhookChange(bodyOf(request))))

  app.get<{ Params: Params }>('/partner/v1/channels/:phone_number_id/api_keys', { schema: { tags, summary: "A channel's API keys (without the keys)" } }, async (request) =>
    ({ data: toJson(await listApiKeys(deps, a(request), id(request))) }))
  app.post<{ Params: Params }>('/partner/v1/channels/:phone_number_id/api_keys', { schema: { tags, summary: 'Issue an API key {scope?: d360|admin|monitoring, label?}; shown once' } }, async (request, reply) => {
    const { scope, label } = bodyOf(request)
    return reply.code(201).send(toJson(await issueApiKey(deps, a(request), id(request), { scope, label })))
  })
  app.post<{ Params: Params }>('/partner/v1/channels/:phone_number_id/api_keys/:key_id/rotate', { schema: { tags, summary: 'A new key; the old one works for grace_seconds (default a day)' } }, async (request) =>
    toJson(await rotateApiKey(deps, a(request), id(request), request.params.key_id!, bodyOf(request).grace_seconds)))
  app.delete<{ Params: Params }>('/partner/v1/channels/:phone_number_id/api_keys/:key_id', { schema: { tags, summary: 'Revoke an API key now' } }, async (request, reply) => {
    await revokeApiKey(deps, a(request), id(request), request.params.key_id!)
    return reply.code(204).send()
  })
}
