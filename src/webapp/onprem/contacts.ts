import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { WebContext } from '../context.js'
import { oneOf } from '../schemas.js'
import { acknowledgeIdentity, checkContacts, contactIdentity, waIdOf } from '../services/contacts.js'

const CheckContacts = Type.Object({
  blocking: Type.Optional(oneOf(['wait', 'no_wait'] as const, { default: 'no_wait' })),
  contacts: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, description: 'phone numbers in any common format' }),
  force_check: Type.Optional(Type.Boolean({ default: false })),
})
const WaIdParams = Type.Object({ wa_id: Type.String() })
const Ack = Type.Object({ hash: Type.String({ minLength: 1 }) })

export function contactsRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.post<{ Body: Static<typeof CheckContacts> }>('/v1/contacts', {
    config: { access: 'number', keepCaches: true },
    schema: { tags: ['contacts'], summary: 'Check which inputs are WhatsApp users', body: CheckContacts },
  }, async (request) => {
    const number = await ctx.number(request)
    const { contacts, blocking = 'no_wait', force_check: forceCheck = false } = request.body
    const results = await checkContacts(ctx, number, contacts, { blocking: blocking === 'wait', forceCheck })
    return ctx.ok({ contacts: results })
  })

  app.get<{ Params: Static<typeof WaIdParams> }>('/v1/contacts/:wa_id/identity', {
    config: { access: 'number' },
    schema: { tags: ['contacts'], summary: 'Read the identity hash of a contact', params: WaIdParams },
  }, async (request) => {
    const number = await ctx.number(request)
    const identity = await contactIdentity(ctx, number, waIdOf(request.params.wa_id))
    return ctx.ok({ contacts: { hash: identity.hash, created_timestamp: identity.createdAt, acknowledged: identity.acknowledged } })
  })

  app.put<{ Params: Static<typeof WaIdParams>; Body: Static<typeof Ack> }>('/v1/contacts/:wa_id/identity', {
    config: { access: 'number' },
    schema: { tags: ['contacts'], summary: 'Acknowledge a changed identity so sends to the contact resume', params: WaIdParams, body: Ack },
  }, async (request) => {
    const number = await ctx.number(request)
    await acknowledgeIdentity(ctx, number, waIdOf(request.params.wa_id), request.body.hash)
    return ctx.ok()
  })
}
