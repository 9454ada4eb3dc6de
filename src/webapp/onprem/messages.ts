import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { OUTBOUND_TYPES } from '../../domain/message/validation.js'
import type { WebContext } from '../context.js'
import { forbidden, invalid } from '../errors.js'
import { oneOf } from '../schemas.js'
import { markRead } from '../services/mark-read.js'
import { sendMessage, type SendRules } from '../services/send-message.js'

const MessageDoc = Type.Object({
  recipient_type: Type.Optional(oneOf(['individual'] as const)),
  to: Type.String({ description: 'wa_id or phone number in any common format; normalised to digits' }),
  type: Type.Optional(oneOf(OUTBOUND_TYPES, { default: 'text' })),
  preview_url: Type.Optional(Type.Boolean()),
  ttl: Type.Optional(Type.Object({ days: Type.Integer({ minimum: 1, maximum: 30 }) }, { description: 'template and hsm only' })),
  context: Type.Optional(Type.Object({ message_id: Type.String() })),
}, { additionalProperties: true, description: 'Plus one object named after `type` (text, image, template, interactive, …)' })

/** On-Prem requires `template.namespace` (2014) and uploads media with POST /v1/media. */
const ON_PREM_RULES: SendRules = { requireNamespace: true, uploadRoute: 'POST /v1/media' }

const MarkRead = Type.Object({ status: Type.String({ description: 'must be "read"' }) })
const IdParams = Type.Object({ id: Type.String() })

export function messagesRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.post('/v1/messages', {
    config: { access: 'number', keepCaches: true },
    schema: { tags: ['messages'], summary: 'Send a message (queued; the outcome arrives as status callbacks)', body: MessageDoc },
    // the schema documents; validateOutbound validates, with the precise On-Prem codes
    validatorCompiler: () => () => true,
  }, async (request, reply) => {
    const number = await ctx.number(request)
    if (number.platform_type === 'CLOUD_API') {
      throw forbidden(`Phone number ${number.id} is hosted on the Cloud API (platform_type CLOUD_API): send its messages with POST /{phone_number_id}/messages and an access token`)
    }
    const sent = await sendMessage(ctx, number, request.body, ON_PREM_RULES)
    return reply.code(201).send(ctx.ok({ messages: [{ id: sent.id }] }))
  })

  app.put<{ Params: Static<typeof IdParams>; Body: Static<typeof MarkRead> }>('/v1/messages/:id', {
    config: { access: 'number', keepCaches: true },
    schema: { tags: ['messages'], summary: 'Mark an inbound message as read', params: IdParams, body: MarkRead },
  }, async (request) => {
    if (request.body.status !== 'read') throw invalid('status', 'must be "read"')
    await markRead(ctx, await ctx.number(request), request.params.id)
    return ctx.ok()
  })
}
