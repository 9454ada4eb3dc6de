import type { FastifyInstance } from 'fastify'
import { invalid } from '../errors.js'
import type { HubEventBus } from './event-bus.js'
import type { HubPhones } from './ports.js'

type PhoneParams = { Params: { waId: string } }
type BusinessBody = { Body: { business?: unknown } }

function business(body: { business?: unknown } | undefined): string {
  const value = body?.business
  if (typeof value !== 'string' || !/^\d{6,20}$/.test(value)) throw invalid('business', "must be the business number's wa_id (digits)")
  return value
}

/** `/hub/api/phones/…`: the simulated phones, through the injected HubPhones port. */
export function hubPhoneRoutes(app: FastifyInstance, phones: HubPhones, events: HubEventBus): void {
  const hide = { hide: true }
  const changed = <T>(result: T): T => {
    events.publish('phones')
    return result
  }

  app.get('/hub/api/phones', { schema: hide }, async () => ({ phones: await phones.list() }))

  app.post<{ Body: { count?: unknown } }>('/hub/api/phones', { schema: hide }, async (request, reply) => {
    const count = request.body?.count ?? 1
    if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > 20) throw invalid('count', 'must be a whole number from 1 to 20')
    return reply.code(201).send(changed({ phones: await phones.create(count as number) }))
  })

  for (const state of ['online', 'offline'] as const) {
    app.post<PhoneParams>(`/hub/api/phones/:waId/${state}`, { schema: hide }, async (request) => {
      await phones.setOnline(request.params.waId, state === 'online')
      return changed({ online: state === 'online' })
    })
  }

  const DONE = { block: 'blocked', unblock: 'unblocked', report: 'reported' } as const
  for (const action of ['block', 'unblock', 'report'] as const) {
    app.post<PhoneParams & BusinessBody>(`/hub/api/phones/:waId/${action}`, { schema: hide }, async (request) => {
      await phones[action](request.params.waId, business(request.body))
      return changed({ [DONE[action]]: true })
    })
  }

  app.post<PhoneParams>('/hub/api/phones/:waId/send', { schema: hide }, async (request, reply) => {
    const sent = await phones.send(request.params.waId, request.body)
    return reply.code(201).send(changed(sent))
  })

  app.get<PhoneParams & { Querystring: { business?: string } }>('/hub/api/phones/:waId/chat', { schema: hide }, async (request) => ({
    messages: await phones.chat(request.params.waId, business(request.query)),
  }))
}
