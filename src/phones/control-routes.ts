import type { FastifyError, FastifyPluginAsync, FastifyRequest } from 'fastify'
import { WireRequestError } from '../wire/client.js'
import { parseSendRequest, SendRequestError } from './outgoing.js'
import type { Phone } from './phone.js'
import { PhoneOfflineError } from './phone-options.js'
import type { PhoneFleet } from './phone-fleet.js'
import type { ReplyScript } from './phone-storage.js'

export interface PhoneControlOptions {
  /** A getter lets the routes be mounted before the fleet exists (e.g. on the network's own app, before it listens). */
  fleet: PhoneFleet | (() => PhoneFleet)
  /** When set, every route requires `Authorization: Bearer <token>`. */
  token?: string
  /** Largest send body (media travels base64 inside it). Default 64 MiB. */
  maxSendBytes?: number
}

class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

type WaIdParams = { Params: { waId: string } }

const businessBody = {
  type: 'object',
  required: ['business'],
  properties: { business: { type: 'string', minLength: 1 } },
} as const

/** Summary of a phone for listings. */
export function phoneSummary(phone: Phone) {
  const { waId, profileName, script, autoDeliver, autoReadDelayMs, blocked } = phone.profile
  return {
    waId,
    profileName,
    online: phone.online,
    script,
    autoDeliver,
    autoReadDelayMs,
    blocked,
    typing: phone.typing(),
    inbox: phone.inboxCounts(),
  }
}

/**
 * Dev control API for the simulated phones (JSON), documented in docs/phones.md.
 * Errors answer `{ error: { code, message } }`.
 */
export const phoneControlRoutes: FastifyPluginAsync<PhoneControlOptions> = async (app, opts) => {
  const fleetOf = typeof opts.fleet === 'function' ? opts.fleet : () => opts.fleet as PhoneFleet

  if (opts.token) {
    const expected = `Bearer ${opts.token}`
    app.addHook('onRequest', async (req) => {
      if (req.headers.authorization !== expected) throw new ControlError(401, 'unauthorized', 'missing or wrong bearer token')
    })
  }

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    const [status, code] = errorStatus(err)
    if (status >= 500) app.log.error({ err }, 'phone control request failed')
    return reply.status(status).send({ error: { code, message: err.message } })
  })

  const phoneOf = (req: FastifyRequest<WaIdParams>): Phone => {
    const phone = fleetOf().get(req.params.waId)
    if (!phone) throw new ControlError(404, 'not_found', `no phone ${req.params.waId}`)
    return phone
  }

  app.post<{ Body: { count?: number } | undefined }>(
    '/control/phones',
    { schema: { body: { type: 'object', nullable: true, properties: { count: { type: 'integer', minimum: 1, maximum: 1000 } } } } },
    async (req, reply) => {
      const phones = await fleetOf().create(req.body?.count ?? 1)
      return reply.status(201).send({ phones: phones.map(phoneSummary) })
    },
  )

  app.get('/control/phones', async () => ({ phones: fleetOf().list().map(phoneSummary) }))

  app.get<WaIdParams>('/control/phones/:waId', async (req) => phoneSummary(phoneOf(req)))

  app.post<WaIdParams>('/control/phones/:waId/send', { bodyLimit: opts.maxSendBytes ?? 64 * 1024 * 1024 }, async (req, reply) => {
    const phone = phoneOf(req)
    const sent = await phone.send(parseSendRequest(req.body))
    return reply.status(201).send({ message: sent })
  })

  app.get<WaIdParams & { Querystring: { unread?: boolean } }>(
    '/control/phones/:waId/inbox',
    { schema: { querystring: { type: 'object', properties: { unread: { type: 'boolean' } } } } },
    async (req) => {
      const inbox = await phoneOf(req).inbox()
      return { messages: req.query.unread ? inbox.filter((m) => !m.error && m.readAt === undefined) : inbox }
    },
  )

  app.get<WaIdParams>('/control/phones/:waId/outbox', async (req) => ({ messages: await phoneOf(req).outbox() }))

  app.post<WaIdParams & { Body: { ids?: string[] } | undefined }>(
    '/control/phones/:waId/read',
    { schema: { body: { type: 'object', nullable: true, properties: { ids: { type: 'array', items: { type: 'string' } } } } } },
    async (req) => ({ read: await phoneOf(req).markRead(req.body?.ids) }),
  )

  for (const action of ['block', 'unblock', 'report'] as const) {
    app.post<WaIdParams & { Body: { business: string } }>(`/control/phones/:waId/${action}`, { schema: { body: businessBody } }, async (req) => {
      await phoneOf(req)[action](req.body.business)
      return { ok: true }
    })
  }

  app.post<WaIdParams>('/control/phones/:waId/offline', async (req) => {
    const phone = phoneOf(req)
    await phone.goOffline()
    return { online: phone.online }
  })

  app.post<WaIdParams>('/control/phones/:waId/online', async (req) => {
    const phone = phoneOf(req)
    await phone.goOnline()
    return { online: phone.online }
  })

  app.put<WaIdParams & { Body: { mode: ReplyScript['mode']; text?: string } }>(
    '/control/phones/:waId/script',
    {
      schema: {
        body: {
          type: 'object',
          required: ['mode'],
          properties: { mode: { type: 'string', enum: ['echo', 'fixed', 'none'] }, text: { type: 'string', minLength: 1 } },
        },
      },
    },
    async (req) => {
      const { mode, text } = req.body
      if (mode === 'fixed' && !text) throw new ControlError(400, 'bad_request', "mode 'fixed' needs text")
      const script: ReplyScript = mode === 'fixed' ? { mode, text: text! } : { mode }
      const phone = phoneOf(req)
      await phone.setScript(script)
      return { script: phone.profile.script }
    },
  )
}

function errorStatus(err: FastifyError): [number, string] {
  if (err instanceof ControlError) return [err.status, err.code]
  if (err instanceof SendRequestError || err.validation) return [400, 'bad_request']
  if (err instanceof PhoneOfflineError) return [409, 'offline']
  if (err instanceof WireRequestError) return [wireStatus(err.code), err.code]
  if (err.statusCode && err.statusCode < 500) return [err.statusCode, 'bad_request']
  return [500, 'internal']
}

function wireStatus(code: WireRequestError['code']): number {
  switch (code) {
    case 'not_registered':
    case 'not_found':
      return 404
    case 'blocked':
      return 403
    case 'bad_request':
      return 400
    case 'spam_rate_limit':
    case 'pair_rate_limit':
    case 'throughput_limit':
    case 'messaging_limit':
      return 429
    default:
      return 502
  }
}
