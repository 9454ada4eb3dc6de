import { Type, type Static, type TSchema } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { CallbackAttemptInfo, CallbackInfo, CallbackListFilter } from '../../store/callbacks.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'
import { invalid, notFound } from '../errors.js'
import { oneOf } from '../schemas.js'
import type { CallbackFormat, WebhooksPort } from '../webhooks-port.js'

const STATUS_FILTERS: readonly CallbackListFilter[] = ['pending', 'failed', 'dead']

const ListQuery = Type.Object({
  status: Type.Optional(oneOf(STATUS_FILTERS, {
    default: 'pending',
    description: 'pending: every undelivered callback (new and retrying); failed: undelivered with at least one failed attempt; dead: dead letters',
  })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'page size' })),
  after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: '`paging.next` of the previous page' })),
})
const SeqParams = Type.Object({ seq: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'the callback\'s seq, from GET /v1/callbacks' }) })

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
const Time = Type.String({ format: 'date-time', description: 'ISO 8601, UTC' })
const Meta = Type.Object({ api_status: Type.String(), version: Type.String() })

const CallbackItem = Type.Object({
  seq: Type.Integer(),
  type: Type.String({ description: 'message, status, contacts or error' }),
  status: Type.String({ description: 'pending, dead or done' }),
  attempts: Type.Integer({ description: 'failed attempts since enqueue or the last replay' }),
  next_attempt_at: Nullable(Time),
  in_flight: Type.Boolean({ description: 'a dispatcher is delivering it right now' }),
  last_error: Nullable(Type.String()),
  created_at: Time,
  dead_at: Nullable(Time),
})
type CallbackItem = Static<typeof CallbackItem>

const AttemptItem = Type.Object({
  at: Time,
  http_status: Nullable(Type.Integer({ description: 'null for a timeout, network or TLS error, or a refused URL' })),
  latency_ms: Type.Integer(),
  error: Nullable(Type.String()),
})

const CallbackDetail = Type.Composite([CallbackItem, Type.Object({
  format: oneOf(['onprem', 'cloud'] as const),
  payload: Type.Unknown({ description: 'the JSON body as it would be POSTed now, in the number\'s format (null if it cannot be unsealed)' }),
  attempt_log: Type.Array(AttemptItem, { description: 'oldest first' }),
})])

const ListReply = Type.Object({
  callbacks: Type.Array(CallbackItem),
  paging: Type.Object({ next: Nullable(Type.Integer({ description: 'pass as `after` for the next page; null on the last page' })) }),
  meta: Meta,
})
const DetailReply = Type.Object({ callbacks: Type.Array(CallbackDetail), meta: Meta })
const ItemReply = Type.Object({ callbacks: Type.Array(CallbackItem), meta: Meta })
const ReplayAllReply = Type.Object({ replayed: Type.Integer({ description: 'dead letters moved back to pending' }), meta: Meta })
const SecretReply = Type.Object({
  webhook: Type.Object({ secret: Type.String({ description: 'HMAC-SHA256 key of X-Hub-Signature-256 (64 hex characters)' }) }),
  meta: Meta,
})

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

/** The list shape: what the queue knows about a callback, never its (sealed) body. */
function item(info: CallbackInfo, now: number): CallbackItem {
  const pending = info.status === 'pending'
  return {
    seq: info.seq,
    type: info.eventType,
    status: info.status,
    attempts: info.attempts,
    next_attempt_at: pending ? iso(info.nextAttemptAt) : null,
    // a lease left by a dispatcher that died ends by itself
    in_flight: pending && info.inFlightUntil !== null && info.inFlightUntil > now,
    last_error: info.lastError,
    created_at: iso(info.createdAt),
    dead_at: info.deadAt === null ? null : iso(info.deadAt),
  }
}

function attempt(a: CallbackAttemptInfo): Static<typeof AttemptItem> {
  return { at: iso(a.at), http_status: a.httpStatus, latency_ms: a.latencyMs, error: a.error }
}

/** The payload alone in a POST, as the dispatcher would send it now (null if it cannot be unsealed). */
async function rendered(webhooks: WebhooksPort, info: CallbackInfo, number: PhoneNumberRow): Promise<{ format: CallbackFormat; payload: unknown }> {
  const { format, body } = await webhooks.renderFor(number.id, info.event ? [info.event] : [])
  return { format, payload: info.event ? JSON.parse(body.toString('ascii')) as unknown : null }
}

/**
 * Callback visibility and replay, and the signing secret, of the caller's number. A seq of
 * another number is not found: the store looks callbacks up by number and seq.
 */
export function callbacksRoutes(app: FastifyInstance, ctx: WebContext): void {
  const { webhooks } = ctx.deps
  const tags = ['callbacks']
  const access = { access: 'number' as const }

  async function found(phoneNumberId: string, seq: number): Promise<CallbackInfo> {
    const info = await webhooks.get(phoneNumberId, seq)
    if (!info) throw notFound(`No callback ${seq} for this number`)
    return info
  }

  app.get<{ Querystring: Static<typeof ListQuery> }>('/v1/callbacks', {
    config: access,
    schema: {
      tags, summary: 'Callbacks of the number by status, oldest first, without their bodies',
      querystring: ListQuery, response: { 200: ListReply },
    },
  }, async (request) => {
    const number = await ctx.number(request)
    const { status = 'pending', limit, after } = request.query
    // the schema rejects other values; this keeps the 1009 if the schema ever loosens
    if (!STATUS_FILTERS.includes(status)) throw invalid("query parameter 'status'", `must be one of ${STATUS_FILTERS.join(', ')}`)
    const page = await webhooks.list(number.id, status, { ...(limit !== undefined ? { limit } : {}), ...(after !== undefined ? { after } : {}) })
    const now = ctx.deps.clock.now()
    return ctx.ok({ callbacks: page.items.map((i) => item(i, now)), paging: { next: page.next } })
  })

  app.get<{ Params: Static<typeof SeqParams> }>('/v1/callbacks/:seq', {
    config: access,
    schema: {
      tags, summary: 'One callback: its state, the body as it would be POSTed, and every delivery attempt',
      params: SeqParams, response: { 200: DetailReply },
    },
  }, async (request) => {
    const number = await ctx.number(request)
    const info = await found(number.id, request.params.seq)
    const log = await webhooks.attempts(number.id, info.seq)
    return ctx.ok({ callbacks: [{ ...item(info, ctx.deps.clock.now()), ...await rendered(webhooks, info, number), attempt_log: log.map(attempt) }] })
  })

  app.post<{ Params: Static<typeof SeqParams> }>('/v1/callbacks/:seq/replay', {
    config: access,
    schema: {
      tags, summary: 'A dead letter back to pending, due now, with a fresh retry window',
      params: SeqParams, response: { 200: ItemReply },
    },
  }, async (request) => {
    const number = await ctx.number(request)
    const { seq } = request.params
    const before = await found(number.id, seq)
    if (before.status !== 'dead') {
      throw invalid("path parameter 'seq'", `callback ${seq} is ${before.status === 'done' ? 'delivered' : 'still pending'}; only dead-lettered callbacks can be replayed`)
    }
    await webhooks.replay(number.id, seq)
    return ctx.ok({ callbacks: [item(await found(number.id, seq), ctx.deps.clock.now())] })
  })

  app.post('/v1/callbacks/replay', {
    config: access,
    schema: { tags, summary: 'Every dead letter of the number back to pending; answers how many', response: { 200: ReplayAllReply } },
  }, async (request) => {
    const number = await ctx.number(request)
    return ctx.ok({ replayed: await webhooks.replayAllDead(number.id) })
  })

  app.get('/v1/configs/webhook/secret', {
    config: access,
    schema: { tags, summary: 'The number\'s X-Hub-Signature-256 secret (generated on first use)', response: { 200: SecretReply } },
  }, async (request) => {
    const number = await ctx.number(request)
    return ctx.ok({ webhook: { secret: await webhooks.webhookSecret(number.id) } })
  })

  app.post('/v1/configs/webhook/secret/rotate', {
    config: access,
    schema: { tags, summary: 'Replaces the signing secret; dispatchers sign with the new one within seconds', response: { 200: SecretReply } },
  }, async (request) => {
    const number = await ctx.number(request)
    return ctx.ok({ webhook: { secret: await webhooks.rotateWebhookSecret(number.id) } })
  })
}
