import type { FastifyInstance } from 'fastify'
import type { ChartSampler } from './charts.js'
import type { HubEventBus } from './event-bus.js'

/** A comment line now and then keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 25_000

/**
 * `GET /hub/api/events`: Server-Sent Events, one `change` event per change notice (`data` is the
 * topic: messages, callbacks, phones, metrics). Pages re-read what they show of the topic.
 */
export function hubEventRoutes(app: FastifyInstance, bus: HubEventBus, charts: ChartSampler): void {
  app.get('/hub/api/events', { schema: { hide: true } }, async (request, reply) => {
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
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS).unref()
    charts.watch()
    request.raw.once('close', () => {
      clearInterval(keepalive)
      unsubscribe()
      charts.unwatch()
    })
  })

  app.get('/hub/api/charts', { schema: { hide: true } }, async () => ({ points: charts.points }))
}
