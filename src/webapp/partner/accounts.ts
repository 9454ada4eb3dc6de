import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { WebContext } from '../context.js'
import { createClient, createWaba, getClient, listClients, listWabas, updateClient, type PartnerDeps } from '../services/partner-clients.js'
import { createPartnerKey, issueToken, listPartnerKeys, listTokens, revokePartnerKey, revokeToken, rotatePartnerKey, rotateToken } from '../services/partner-credentials.js'
import { changeWabaRegion } from '../services/partner-region.js'
import { PartnerRefusal } from '../services/partner-refusal.js'
import { actorOf } from './auth.js'
import { bodyOf, toJson } from './envelope.js'

type Params = Record<string, string>
type Query = Record<string, string | undefined>

const AUDIT_MAX = 500

// a repeated key would reach the store as an array: one string each, no longer than an id or an instant
const filter = Type.Optional(Type.String({ maxLength: 100 }))
const AuditQuery = Type.Object({
  client_id: filter, action: filter, object_type: filter, object_id: filter, since: filter, until: filter, after: filter, limit: filter,
}, { additionalProperties: true })

function intParam(query: Query, name: string): number | undefined {
  const raw = query[name]
  if (raw === undefined) return undefined
  if (!/^[0-9]{1,15}$/.test(raw)) throw new PartnerRefusal('invalid_request', `'${name}' must be a non-negative integer`)
  return Number(raw)
}

/** An ISO 8601 instant of the audit filters, as ms. */
function instantParam(query: Query, name: string): number | undefined {
  const raw = query[name]
  if (raw === undefined) return undefined
  const ms = Date.parse(raw)
  if (Number.isNaN(ms)) throw new PartnerRefusal('invalid_request', `'${name}' must be an ISO 8601 instant, e.g. 2026-12-06T00:00:00Z`)
  return ms
}

/** Clients (create, list, get, update, suspend, resume), their WABAs and tokens, the partner's keys and the audit log. */
export function accountRoutes(app: FastifyInstance, ctx: WebContext, deps: PartnerDeps): void {
  const a = (request: FastifyRequest) => actorOf(request)
  const tags = ['partner']

  app.get('/partner/v1/clients', { schema: { tags, summary: "The partner's clients" } }, async (request) => ({ data: toJson(await listClients(deps, a(request))) }))
  app.post('/partner/v1/clients', { schema: { tags, summary: 'Create a client {name, limits?: {requests_per_second, burst}}' } }, async (request, reply) => {
    const body = bodyOf(request)
    return reply.code(201).send(toJson(await createClient(deps, a(request), { name: body.name, limits: body.limits })))
  })
  app.get<{ Params: Params }>('/partner/v1/clients/:client_id', { schema: { tags, summary: 'A client' } }, async (request) =>
    toJson(await getClient(deps, a(request), request.params.client_id!)))
  app.patch<{ Params: Params }>('/partner/v1/clients/:client_id', { schema: { tags, summary: 'Rename a client or change its limits' } }, async (request) => {
    const { name, limits } = bodyOf(request)
    return toJson(await updateClient(deps, a(request), request.params.client_id!, { name, limits }))
  })
  for (const [verb, status] of [['suspend', 'suspended'], ['resume', 'active']] as const) {
    app.post<{ Params: Params }>(`/partner/v1/clients/:client_id/${verb}`, { schema: { tags, summary: `${verb[0]!.toUpperCase()}${verb.slice(1)} a client: its keys and tokens ${verb === 'suspend' ? 'answer 403, its queue is kept' : 'work again'}` } },
      async (request) => toJson(await updateClient(deps, a(request), request.params.client_id!, { status })))
  }
  app.get<{ Params: Params }>('/partner/v1/clients/:client_id/wabas', { schema: { tags, summary: "A client's WABAs" } }, async (request) =>
    ({ data: toJson(await listWabas(deps, a(request), request.params.client_id)) }))
  app.post<{ Params: Params }>('/partner/v1/clients/:client_id/wabas', { schema: { tags, summary: 'Create a WABA {name, data_localization_region?}' } }, async (request, reply) => {
    const { name, data_localization_region } = bodyOf(request)
    return reply.code(201).send(toJson(await createWaba(deps, a(request), request.params.client_id!, { name, data_localization_region })))
  })
  app.post<{ Params: Params }>('/partner/v1/wabas/:waba_id/region', { config: { pinCheck: true }, schema: { tags, summary: "Move a WABA's content at rest to another configured region {data_localization_region, pin}; pin: its channels' two-step PIN" } }, async (request) => {
    const { data_localization_region, pin } = bodyOf(request)
    return toJson(await changeWabaRegion(deps, a(request), request.params.waba_id!, { data_localization_region, pin }))
  })
  app.get('/partner/v1/wabas', { schema: { tags, summary: "The partner's WABAs" } }, async (request) => ({ data: toJson(await listWabas(deps, a(request))) }))

  app.get<{ Params: Params }>('/partner/v1/wabas/:waba_id/tokens', { schema: { tags, summary: "A WABA's Graph system-user tokens (without the tokens)" } }, async (request) =>
    ({ data: toJson(await listTokens(deps, a(request), request.params.waba_id!)) }))
  app.post<{ Params: Params }>('/partner/v1/wabas/:waba_id/tokens', { schema: { tags, summary: 'Issue a Graph system-user token {scopes?, label?}; shown once' } }, async (request, reply) => {
    const { scopes, label } = bodyOf(request)
    return reply.code(201).send(toJson(await issueToken(deps, a(request), request.params.waba_id!, { scopes, label })))
  })
  app.post<{ Params: Params }>('/partner/v1/wabas/:waba_id/tokens/:token_id/rotate', { schema: { tags, summary: 'A new token; the old one works for grace_seconds (default a day)' } }, async (request) =>
    toJson(await rotateToken(deps, a(request), request.params.waba_id!, request.params.token_id!, bodyOf(request).grace_seconds)))
  app.delete<{ Params: Params }>('/partner/v1/wabas/:waba_id/tokens/:token_id', { schema: { tags, summary: 'Revoke a token' } }, async (request, reply) => {
    await revokeToken(deps, a(request), request.params.waba_id!, request.params.token_id!)
    return reply.code(204).send()
  })

  app.get('/partner/v1/keys', { schema: { tags, summary: "The partner's key pairs (without secrets)" } }, async (request) => ({ data: toJson(await listPartnerKeys(deps, a(request))) }))
  app.post('/partner/v1/keys', { schema: { tags, summary: 'Create a key pair {label?}; the secret is shown once' } }, async (request, reply) =>
    reply.code(201).send(toJson(await createPartnerKey(deps, a(request), bodyOf(request).label))))
  app.post<{ Params: Params }>('/partner/v1/keys/:key_id/rotate', { schema: { tags, summary: 'A new secret; the old one works for grace_seconds (default a day)' } }, async (request) =>
    toJson(await rotatePartnerKey(deps, a(request), request.params.key_id!, bodyOf(request).grace_seconds)))
  app.delete<{ Params: Params }>('/partner/v1/keys/:key_id', { schema: { tags, summary: 'Revoke a key pair (every secret of it)' } }, async (request, reply) => {
    await revokePartnerKey(deps, a(request), request.params.key_id!)
    return reply.code(204).send()
  })

  app.get<{ Querystring: Query }>('/partner/v1/audit', { schema: { tags, summary: 'The audit log, filtered by client_id, action, object_type, object_id, since, until; paged by after (seq) and limit', querystring: AuditQuery } }, async (request) => {
    const q = request.query
    const limit = Math.min(intParam(q, 'limit') ?? 100, AUDIT_MAX)
    const entries = await ctx.store.audit.list(a(request).partnerId, {
      ...(q.client_id !== undefined ? { clientId: q.client_id } : {}),
      ...(q.action !== undefined ? { action: q.action } : {}),
      ...(q.object_type !== undefined ? { objectType: q.object_type } : {}),
      ...(q.object_id !== undefined ? { objectId: q.object_id } : {}),
      since: instantParam(q, 'since'), until: instantParam(q, 'until'), after: intParam(q, 'after'), limit,
    })
    const last = entries.at(-1)
    return { data: entries.map(({ partnerId: _, at, ...e }) => ({ ...toJson(e) as object, at: new Date(at).toISOString() })), ...(entries.length === limit && last ? { next_after: last.seq } : {}) }
  })
}
