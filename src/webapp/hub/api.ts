import type { FastifyInstance } from 'fastify'
import { WEBHOOK_URL_MAX_CHARS } from '../../domain/webhook-config.js'
import { resolveWebhookTarget } from '../../domain/webhook-target.js'
import { HubQueries } from '../../store/hub-queries.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'
import { invalid, notFound } from '../errors.js'
import { markRead } from '../services/mark-read.js'
import { openMedia } from '../services/media.js'
import { sendMessage, type SendRules } from '../services/send-message.js'
import { setWebhook, webhookOf } from '../services/webhook-config.js'
import type { HubEventBus } from './event-bus.js'

/** The Hub sends as the On-Prem API does, template namespace optional as in the Cloud API. */
const HUB_RULES: SendRules = { requireNamespace: false, uploadRoute: 'POST /v1/media' }
/** "Recent" webhook delivery success on the Numbers page. */
const RECENT_MS = 15 * 60 * 1000

type NumberParams = { Params: { numberId: string } }
type ChatParams = { Params: { numberId: string; peer: string } }

export interface HubApiOptions {
  events: HubEventBus
  /** Makes the local dispatcher look for due callbacks now (after a replay). */
  wakeDispatcher?: () => void
  phonesAvailable: boolean
}

function positiveInt(value: unknown, fallback: number): number {
  const n = Number(value)
  return Number.isInteger(n) && n > 0 ? n : fallback
}

/**
 * `/hub/api/…` JSON for the Hub's pages, over the same use cases the API dialects call
 * (send, mark read, webhook configuration) and the Hub's store queries.
 */
export function hubApiRoutes(app: FastifyInstance, ctx: WebContext, opts: HubApiOptions): void {
  const { store } = ctx
  const queries = new HubQueries(store.ctx)
  const hide = { hide: true }

  const numberOf = async (id: string): Promise<PhoneNumberRow> => {
    const number = await ctx.numberById(id)
    if (!number) throw notFound(`No phone number with id '${id}'`)
    return number
  }

  /** A number as the Numbers page shows it. */
  const summary = async (n: PhoneNumberRow, depth: { pending: number; dead: number } | undefined, since: number) => {
    const { qualityRating, messagingLimitTier } = await store.management.get(n.id)
    // where a message notification goes now, as the dispatcher decides: a Cloud number's subscriptions and overrides, else the URL setting
    const setting = webhookOf(ctx, n).url
    const routes = n.platform_type === 'CLOUD_API' ? await store.webhookSubscriptions.routesFor(n.id, setting) : undefined
    const target = routes ? resolveWebhookTarget('messages', routes) : setting ? { level: 'number_setting' as const, url: setting } : undefined
    return {
      id: n.id,
      waId: n.wa_id,
      displayName: n.display_name,
      platform: n.platform_type,
      status: n.status,
      health: n.gateway_status,
      quality: qualityRating ?? 'UNKNOWN',
      tier: messagingLimitTier,
      webhookUrl: target?.url ?? null,
      webhookLevel: target?.level ?? null,
      region: n.waba_id ? (await store.wabas.get(n.waba_id))?.dataLocalizationRegion ?? null : null,
      delivery: await queries.deliveryStats(n.id, since),
      backlog: { pending: depth?.pending ?? 0, dead: depth?.dead ?? 0 },
    }
  }

  app.get('/hub/api/numbers', { schema: hide }, async () => {
    const since = ctx.deps.clock.now() - RECENT_MS
    const depth = new Map((await store.callbacks.depthByNumber()).map((d) => [d.phoneNumberId, d]))
    const numbers = await Promise.all((await store.numbers.list()).map((n) => summary(n, depth.get(n.id), since)))
    return { numbers, phonesAvailable: opts.phonesAvailable, now: ctx.deps.clock.now() }
  })

  app.get<NumberParams>('/hub/api/numbers/:numberId/conversations', { schema: hide }, async (request) => {
    const number = await numberOf(request.params.numberId)
    return { conversations: await queries.conversations(number.id) }
  })

  app.get<ChatParams>('/hub/api/numbers/:numberId/conversations/:peer', { schema: hide }, async (request) => {
    const number = await numberOf(request.params.numberId)
    return { messages: await queries.messages(number.id, request.params.peer) }
  })

  // media of a chat (thumbnails): the page may show only its own origin's images
  app.get<NumberParams & { Params: { mediaId: string } }>('/hub/api/numbers/:numberId/media/:mediaId', { schema: hide }, async (request, reply) => {
    const opened = await openMedia(ctx, await numberOf(request.params.numberId), request.params.mediaId)
    if (!opened) throw notFound(`No media with id '${request.params.mediaId}' for this number`)
    return reply.type(opened.media.mimeType).header('content-length', opened.media.size).header('cache-control', 'private, max-age=3600').send(opened.stream)
  })

  app.post<NumberParams & { Body: { to?: unknown; text?: unknown; message?: unknown } }>(
    '/hub/api/numbers/:numberId/messages', { schema: hide }, async (request, reply) => {
      const number = await numberOf(request.params.numberId)
      const { to, text, message } = request.body ?? {}
      // a text from the chat box, or any message body of the API (media, template, interactive)
      const body = message ?? { to, type: 'text', text: { body: text } }
      const sent = await sendMessage(ctx, number, body, HUB_RULES)
      opts.events.publish('messages')
      return reply.code(201).send({ id: sent.id, to: sent.to })
    },
  )

  app.post<NumberParams & { Body: { messageId?: unknown } }>('/hub/api/numbers/:numberId/read', { schema: hide }, async (request) => {
    const number = await numberOf(request.params.numberId)
    const id = request.body?.messageId
    if (typeof id !== 'string' || !id) throw invalid('messageId', 'must be the id of an inbound message')
    await markRead(ctx, number, id)
    // the chat's Mark read button goes at once, in every open page
    opts.events.publish('messages')
    return { read: id }
  })

  app.get<NumberParams & { Querystring: { dead?: string; limit?: string } }>(
    '/hub/api/numbers/:numberId/callbacks', { schema: hide }, async (request) => {
      const number = await numberOf(request.params.numberId)
      const dead = request.query.dead === '1' || request.query.dead === 'true'
      return { callbacks: await queries.callbacks(number.id, { dead, limit: positiveInt(request.query.limit, 50) }), now: ctx.deps.clock.now() }
    },
  )

  app.post<NumberParams & { Body: { seqs?: unknown } }>('/hub/api/numbers/:numberId/callbacks/replay', { schema: hide }, async (request) => {
    const number = await numberOf(request.params.numberId)
    const seqs = request.body?.seqs
    if (!Array.isArray(seqs) || seqs.length === 0 || seqs.length > 500 || !seqs.every((s) => Number.isSafeInteger(s))) {
      throw invalid('seqs', 'must be a list of 1 to 500 callback numbers (seq)')
    }
    const queued = await queries.replay(number.id, seqs as number[])
    opts.wakeDispatcher?.()
    opts.events.publish('callbacks')
    return { queued }
  })

  app.put<NumberParams & { Body: { url?: unknown } }>('/hub/api/numbers/:numberId/webhook', { schema: hide }, async (request) => {
    const number = await numberOf(request.params.numberId)
    const url = request.body?.url
    if (typeof url !== 'string') throw invalid('url', 'must be a string (empty to stop sending callbacks)')
    // the cap of /v1/settings/application and /v1/configs/webhook
    if (url.length > WEBHOOK_URL_MAX_CHARS) throw invalid('url', `must be at most ${WEBHOOK_URL_MAX_CHARS} characters (got ${url.length})`)
    const { headers } = store.numbers.settings(number).webhooks
    const view = await setWebhook(ctx, number, { url, headers })
    ctx.clearCaches()
    return { webhookUrl: view.url }
  })
}
