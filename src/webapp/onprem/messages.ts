import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { OnPremCode, WaboxError } from '../../errors/index.js'
import { messageId } from '../../ids.js'
import { categoryOf, parseMime } from '../../media/limits.js'
import { outboundIntake } from '../../store/outbound-intake.js'
import { shardOf } from '../../domain/shard.js'
import type { WebContext } from '../context.js'
import { invalid, notFound } from '../errors.js'
import { oneOf } from '../schemas.js'
import { OUTBOUND_TYPES, validateOutbound } from '../../domain/message/validation.js'

const MessageDoc = Type.Object({
  recipient_type: Type.Optional(oneOf(['individual'] as const)),
  to: Type.String({ description: 'wa_id or phone number in any common format; normalised to digits' }),
  type: Type.Optional(oneOf(OUTBOUND_TYPES, { default: 'text' })),
  preview_url: Type.Optional(Type.Boolean()),
  ttl: Type.Optional(Type.Object({ days: Type.Integer({ minimum: 1, maximum: 30 }) }, { description: 'template and hsm only' })),
  context: Type.Optional(Type.Object({ message_id: Type.String() })),
}, { additionalProperties: true, description: 'Plus one object named after `type` (text, image, template, interactive, …)' })

const MarkRead = Type.Object({ status: Type.String({ description: 'must be "read"' }) })
const IdParams = Type.Object({ id: Type.String() })

export function messagesRoutes(app: FastifyInstance, ctx: WebContext): void {
  const { store } = ctx
  // requests arriving together share one insert and one commit; each is answered after it
  const intake = outboundIntake(store)

  app.post('/v1/messages', {
    config: { access: 'number', keepCaches: true },
    schema: { tags: ['messages'], summary: 'Send a message (queued; the outcome arrives as status callbacks)', body: MessageDoc },
    // the schema documents; validateOutbound validates, with the precise On-Prem codes
    validatorCompiler: () => () => true,
  }, async (request, reply) => {
    const number = await ctx.number(request)
    const backlog = await ctx.backlog.get(number.id)
    if (backlog > ctx.limits.overloadThreshold) {
      throw new WaboxError(OnPremCode.SYSTEM_OVERLOADED,
        `${backlog} callbacks are waiting for delivery to this number's webhook (limit ${ctx.limits.overloadThreshold}); make the webhook answer 200, then retry`)
    }
    const v = validateOutbound(request.body, { requireNamespace: true, mediaProviders: await ctx.mediaProviders.get(number.id) })
    const to = v.content.to
    if (to === number.wa_id) throw new WaboxError(OnPremCode.BAD_USER, `'to' is this number itself (${to})`)
    for (const ref of v.mediaIds) {
      const media = await store.media.getOwned(number.id, ref.id)
      if (!media) throw notFound(`${ref.path}: no media with id '${ref.id}' for this number; upload it with POST /v1/media`)
      const category = categoryOf(parseMime(media.mime_type)?.essence ?? '')
      if (ref.categories && !ref.categories.includes(category)) {
        throw invalid(ref.path, `media '${ref.id}' is ${media.mime_type}, which cannot be sent as ${ref.categories.join(' or ')}`)
      }
    }
    const settings = store.numbers.settings(number)
    if (settings.show_security_notifications && await store.contacts.identityBlocked(number.id, to)) {
      throw new WaboxError(OnPremCode.IDENTITY_CHANGE_ACK_REQUIRED,
        `The identity of ${to} changed; acknowledge it with PUT /v1/contacts/${to}/identity before sending`)
    }
    const id = messageId()
    await intake.add({
      id,
      phoneNumberId: number.id,
      to,
      type: v.content.type,
      content: v.content,
      shard: shardOf(to, Math.max(1, number.shard_count)),
      expiresAt: v.ttlMs === undefined ? null : ctx.deps.clock.now() + v.ttlMs,
    })
    ctx.deps.onMessagesQueued?.(number.id)
    return reply.code(201).send(ctx.ok({ messages: [{ id }] }))
  })

  app.put<{ Params: Static<typeof IdParams>; Body: Static<typeof MarkRead> }>('/v1/messages/:id', {
    config: { access: 'number', keepCaches: true },
    schema: { tags: ['messages'], summary: 'Mark an inbound message as read', params: IdParams, body: MarkRead },
  }, async (request) => {
    if (request.body.status !== 'read') throw invalid('status', 'must be "read"')
    const number = await ctx.number(request)
    const { id } = request.params
    const row = await store.messages.get(id)
    if (!row || row.phone_number_id !== number.id || row.direction !== 'in') {
      throw notFound(`No inbound message with id '${id}' for this number`)
    }
    await ctx.deps.bridge.markRead(number.id, id)
    return ctx.ok()
  })
}
