import fs from 'node:fs'
import os from 'node:os'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { nodeRole } from '../../domain/cluster.js'
import { registrationLost, registrationLostDetails } from '../../domain/number-loss.js'
import { OnPremCode, WaboxError } from '../../errors/index.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { Store } from '../../store/store.js'
import type { AppStats, WebContext } from '../context.js'
import { isDeploymentAdmin } from '../auth.js'
import { onlyNumber, onlyNumberText, registryJson, toPrometheus, type MetricJson } from '../metrics.js'
import { oneOf } from '../schemas.js'

const FormatQuery = Type.Object({ format: Type.Optional(oneOf(['json', 'prometheus'] as const)) })
type Format = Static<typeof FormatQuery>

const SOCKET: Record<string, string> = { connected: 'UP', connecting: 'SC', disconnected: 'DN' }

async function freeSpace(dir: string): Promise<number | null> {
  try {
    const s = await fs.promises.statfs(dir)
    return s.bavail * s.bsize
  } catch {
    return null
  }
}

function sendStats(ctx: WebContext, reply: FastifyReply, format: Format['format'], key: 'app' | 'db', metrics: Record<string, MetricJson>) {
  if (format === 'prometheus') return reply.type('text/plain; version=0.0.4; charset=utf-8').send(toPrometheus(metrics))
  return reply.send(ctx.ok({ stats: { [key]: metrics } }))
}

/**
 * On-Prem's multi-node health: every live CoreApp with its role; a node holding one of the
 * number's shards reports the number's gateway status, the others `disconnected`.
 */
async function nodeHealth(store: Store, number: PhoneNumberRow | undefined, gateway: string, unhealthyMs: number) {
  const nodes = await store.nodes.live('coreapp', unhealthyMs)
  const owners = new Set(number ? (await store.nodes.routes(number.id)).map((r) => r.owner) : [])
  return Object.fromEntries(nodes.map((node, rank) => [node.id, {
    gateway_status: owners.has(node.id) || !number || number.status !== 'registered' ? gateway : 'disconnected',
    role: nodeRole(rank),
  }]))
}

/** Health, metrics, stats and support (onprem-api.md §7). */
export function monitoringRoutes(app: FastifyInstance, ctx: WebContext): void {
  const { store, registry } = { store: ctx.store, registry: ctx.deps.registry }

  app.get('/v1/health', {
    config: { access: 'health' },
    schema: { tags: ['monitoring'], summary: 'Gateway status of the number (Bearer, Apikey or D360-API-KEY)' },
  }, async (request) => {
    const number = request.phoneNumberId ? await store.numbers.get(request.phoneNumberId) : undefined
    const gateway = number?.gateway_status ?? 'unregistered'
    const cluster = ctx.deps.cluster
    // one node: On-Prem's single-instance shape; several: one entry per CoreApp node with its role
    const health = cluster ? await nodeHealth(store, number, gateway, cluster.unhealthyMs) : { gateway_status: gateway }
    if (!number || !registrationLost(number)) return ctx.ok({ health })
    // not just "register first": say that another install took the number, and how to get it back
    const error = new WaboxError(OnPremCode.SERVICE_NOT_READY, registrationLostDetails(number.wa_id))
    return ctx.ok({ health, errors: [{ code: error.code, title: error.title, details: error.details }] })
  })

  app.get<{ Querystring: Format }>('/metrics', {
    config: { access: 'monitoring' },
    schema: { tags: ['monitoring'], summary: 'Webapp metrics: JSON, or Prometheus text with ?format=prometheus; series of other numbers only for the deployment admin', querystring: FormatQuery },
  }, async (request, reply) => {
    // the registry holds every number's series; only the deployment admin sees them all
    const all = isDeploymentAdmin(request.principal)
    const own = request.phoneNumberId
    if (request.query.format === 'prometheus') {
      const text = await registry.metrics()
      return reply.type(registry.contentType).send(all ? text : onlyNumberText(text, own))
    }
    const metrics = await registryJson(registry)
    return reply.send(ctx.ok({ metrics: all ? metrics : onlyNumber(metrics, own) }))
  })

  app.get<{ Querystring: Format }>('/v1/stats/app', {
    config: { access: 'monitoring' },
    schema: { tags: ['monitoring'], summary: 'Callback queue and delivery counts of the number', querystring: FormatQuery },
  }, async (request, reply) => {
    const number = await ctx.number(request)
    const stats: AppStats = await (ctx.deps.statsProvider ?? ((id) => ctx.deps.webhooks.stats(id)))(number.id)
    return sendStats(ctx, reply, request.query.format, 'app', { ...stats })
  })

  app.get<{ Querystring: Format }>('/v1/stats/db', {
    config: { access: 'monitoring' },
    schema: { tags: ['monitoring'], summary: 'Row counts of the number in the database', querystring: FormatQuery },
  }, async (request, reply) => {
    const number = await ctx.number(request)
    const c = await store.dbStats.counts(number.id)
    const gauge = (help: string, data: MetricJson['data']): MetricJson => ({ type: 'gauge', help, data })
    return sendStats(ctx, reply, request.query.format, 'db', {
      db_contacts: gauge('Contacts by type', [
        { labels: { type: 'whatsapp_user' }, value: c.contacts.whatsapp_user },
        { labels: { type: 'non_whatsapp_user' }, value: c.contacts.non_whatsapp_user },
      ]),
      db_messages: gauge('Messages by direction and status', c.messages.map((m) => ({ labels: { direction: m.direction, status: m.status }, value: m.count }))),
      db_message_receipts: gauge('Message status changes recorded', [{ value: c.messageReceipts }]),
      db_pending_callbacks: gauge('Callbacks waiting for delivery', [{ value: c.pendingCallbacks }]),
      db_pending_messages: gauge('Outbound messages not yet sent', [{ value: c.pendingMessages }]),
      db_media: gauge('Media files on the media volume', [{ value: c.media }]),
    })
  })

  // host, disks and versions of the deployment, not of one number
  app.get('/v1/support', {
    config: { access: 'deployment' },
    schema: { tags: ['monitoring'], summary: 'Debug information for support' },
  }, async (request) => {
    const number = request.phoneNumberId ? await store.numbers.get(request.phoneNumberId) : undefined
    const shards = number?.shard_count ?? 1
    return ctx.ok({
      support: {
        context: 'healthcheck',
        db_engine: ({ postgres: 'PGSQL', mysql: 'MYSQL', sqlite: 'SQLITE' } as const)[store.dialect],
        debug_info: number?.status === 'registered' ? number.wa_id : 'unregistered',
        description: `wabox ${ctx.deps.version}`,
        device_iso8601: new Date(ctx.deps.clock.now()).toISOString(),
        free_space_data: await freeSpace(ctx.deps.dataDir),
        free_space_media: await freeSpace(ctx.deps.media.root),
        gateway_status: number?.gateway_status ?? 'unregistered',
        lc: 'ZZ',
        lg: 'ZZ',
        multi_connect: shards > 1,
        node_version: process.version,
        os_name: os.type(),
        os_version: os.release(),
        shards: Array.from({ length: shards }, (_, i) => [i, i]),
        socket_conn: SOCKET[number?.gateway_status ?? ''] ?? 'UNK',
      },
    })
  })
}
