import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ChartSampler } from './charts.js'
import type { HubEventBus } from './event-bus.js'

/** A comment line now and then keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 25_000

/**
 * The open event streams by session token: signing out ends that session's streams, so a
 * revoked session hears nothing more (and the page, reconnecting, is told to sign in).
 */
export class SessionStreams {
  readonly #ends = new Map<string, Set<() => void>>()

  /** Returns the function that forgets the stream. */
  add(token: string, end: () => void): () => void {
    const ends = this.#ends.get(token) ?? new Set()
    ends.add(end)
    this.#ends.set(token, ends)
    return () => {
      ends.delete(end)
      if (ends.size === 0 && this.#ends.get(token) === ends) this.#ends.delete(token)
    }
  }

  end(token: string): void {
    for (const end of [...(this.#ends.get(token) ?? [])]) end()
  }
}

export interface HubEventOptions {
  /** The session token of a request (the onRequest hook has checked it). */
  tokenOf: (request: FastifyRequest) => string
  /** Whether the token is still a valid session: revoked elsewhere (user deleted, expired), the stream ends at the next keepalive. */
  stillValid: (token: string) => Promise<boolean>
}

/**
 * `GET /hub/api/events`: Server-Sent Events, one `change` event per change notice (`data` is the
 * topic: messages, callbacks, phones, metrics). Pages re-read what they show of the topic.
 */
export function hubEventRoutes(app: FastifyInstance, bus: HubEventBus, charts: ChartSampler, streams: SessionStreams, opts: HubEventOptions): void {
  app.get('/hub/api/events', { schema: { hide: true } }, async (request, reply) => {
    const token = opts.tokenOf(request)
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    })
    res.write('retry: 2000\n\n')
    const unsubscribe = bus.subscribe((topic) => res.write(`event: change\ndata: ${topic}\n\n`))
    const end = () => res.end()
    const forget = streams.add(token, end)
    const keepalive = setInterval(() => {
      res.write(': keepalive\n\n')
      opts.stillValid(token).then((valid) => valid || end(), () => undefined)
    }, KEEPALIVE_MS).unref()
    charts.watch()
    let closed = false
    const close = () => {
      if (closed) return
      closed = true
      clearInterval(keepalive)
      unsubscribe()
      forget()
      charts.unwatch()
    }
    // the client went away, or the server ended the stream
    request.raw.once('close', close)
    res.once('close', close)
  })

  app.get('/hub/api/charts', { schema: { hide: true } }, async () => ({ points: charts.points }))
}
