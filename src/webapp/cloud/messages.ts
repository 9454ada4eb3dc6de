import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BSUID_RULE, isBsuid } from '../../domain/bsuid.js'
import { checkCloudKeys } from '../../domain/message/cloud-keys.js'
import { isObject } from '../../domain/message/fields.js'
import { OUTBOUND_TYPES } from '../../domain/message/validation.js'
import { CloudCode, invalid, missing, notAllowed, OnPremCode, WaboxError } from '../../errors/index.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'
import { oneOf } from '../schemas.js'
import { markRead } from '../services/mark-read.js'
import { requireRegistered } from '../services/registration.js'
import { sendMessage, type Addressing, type SendRules } from '../services/send-message.js'
import { numberInReach, requireCloudHosted } from './auth.js'

/** Cloud has no `hsm` (On-Prem's old template shape). */
const CLOUD_TYPES = OUTBOUND_TYPES.filter((t) => t !== 'hsm')

/** Cloud templates carry no namespace; media is uploaded with the Cloud media route; template errors are answered at once. */
const CLOUD_RULES: SendRules = { requireNamespace: false, uploadRoute: 'POST /{phone_number_id}/media', templateErrorsNow: true }

const MessageDoc = Type.Object({
  messaging_product: Type.Literal('whatsapp'),
  recipient_type: Type.Optional(oneOf(['individual'] as const)),
  to: Type.Optional(Type.String({ description: 'phone number or wa_id; wins over recipient when both are given' })),
  recipient: Type.Optional(Type.String({ description: 'a business-scoped user id (BSUID), e.g. US.13491208655302741918' })),
  type: Type.Optional(oneOf(CLOUD_TYPES, { default: 'text' })),
  context: Type.Optional(Type.Object({ message_id: Type.String() })),
  biz_opaque_callback_data: Type.Optional(Type.String({ description: 'at most 512 bytes; echoed on status webhooks' })),
  status: Type.Optional(Type.String({ description: 'mark read: "read", with message_id (and typing_indicator)' })),
  message_id: Type.Optional(Type.String()),
  typing_indicator: Type.Optional(Type.Object({ type: Type.Literal('text') })),
}, { additionalProperties: true, description: 'A send (plus one object named after `type`: text, image, template, interactive, …) or a mark read' })

const NumberParams = Type.Object({ phone_number_id: Type.String() })
type MessagesRequest = FastifyRequest<{ Params: Static<typeof NumberParams> }>

/** Every Cloud body names its product; Meta answers 100 when it is missing or another. */
function checkProduct(body: Record<string, unknown>): void {
  const product = body.messaging_product
  if (product === 'whatsapp') return
  throw new WaboxError(CloudCode.INVALID_PARAMETER, product === undefined || product === null
    ? 'Missing required parameter \'messaging_product\': must be "whatsapp"'
    : `Invalid value for 'messaging_product': must be "whatsapp", got ${JSON.stringify(product).slice(0, 40)}`)
}

/** `{status:"read", message_id, typing_indicator?}`. */
async function readMark(ctx: WebContext, number: PhoneNumberRow, body: Record<string, unknown>): Promise<{ success: true }> {
  if (body.status !== 'read') throw invalid('status', 'must be "read" (leave status out to send a message)')
  const id = body.message_id
  if (id === undefined || id === null) throw missing('message_id', 'the id (wamid) of the inbound message to mark read')
  if (typeof id !== 'string' || id === '' || id.length > 256) throw invalid('message_id', 'must be a message id (wamid) of at most 256 characters')
  const typing = body.typing_indicator
  if (typing !== undefined && typing !== null && !(isObject(typing) && typing.type === 'text')) {
    throw invalid('typing_indicator', 'must be {"type": "text"}')
  }
  await markRead(ctx, number, id, { typing: typing !== undefined && typing !== null })
  return { success: true }
}

/**
 * The canonical body and how its recipient was named: `to` wins when both are given (and
 * `recipient` is then ignored, as Meta does); `recipient` alone is a BSUID resolved to a wa_id.
 */
async function addressed(ctx: WebContext, number: PhoneNumberRow, body: Record<string, unknown>): Promise<{ canonical: Record<string, unknown>; input: string; addressing: Addressing }> {
  const { messaging_product: _, recipient, ...canonical } = body
  if (canonical.type === 'hsm') throw invalid('type', `must be one of ${CLOUD_TYPES.map((t) => `"${t}"`).join(', ')}`)
  if (canonical.ttl !== undefined) throw notAllowed('ttl', 'the Cloud API has no message ttl')
  if (canonical.to !== undefined && canonical.to !== null) return { canonical, input: String(canonical.to), addressing: {} }
  if (recipient === undefined || recipient === null) throw missing('to', 'send "to" (a phone number) or "recipient" (a business-scoped user id)')
  if (!isBsuid(recipient)) throw invalid('recipient', `must be ${BSUID_RULE}`)
  const waId = await ctx.deps.bridge.resolveUserId(number.id, recipient)
  if (!waId) throw new WaboxError(OnPremCode.USER_NOT_VALID, 'recipient: no WhatsApp user has this business-scoped user id for this number')
  return { canonical: { ...canonical, to: waId }, input: recipient, addressing: { recipient } }
}

/** 80 messages per second per number with bursts (Meta's default throughput); over it 130429 with HTTP 400, as Meta answers. */
export async function throttle(ctx: WebContext, number: PhoneNumberRow, reply: FastifyReply): Promise<void> {
  const rule = { perSecond: ctx.limits.cloudMessagesPerSecond, burst: ctx.limits.cloudMessagesBurst }
  if (ctx.rateLimiter.take(rule, `cloud-send|${number.id}`)) return
  void reply.header('retry-after', '1')
  throw new WaboxError(CloudCode.RATE_LIMIT_HIT,
    `More than ${rule.perSecond} messages per second (bursts to ${rule.burst}) from phone number ${number.id}; retry after a second`)
}

/** `POST /{phone_number_id}/messages`: send a message, or mark one read (with a typing indicator). */
export function messagesRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.post<{ Params: Static<typeof NumberParams> }>('/:phone_number_id/messages', {
    config: { keepCaches: true },
    schema: { tags: ['cloud'], summary: 'Send a message (queued; the outcome arrives as status webhooks), or mark one read', params: NumberParams, body: MessageDoc },
    // the schema documents; the shared validator validates, with precise codes
    validatorCompiler: () => () => true,
    // before the body is read: an unknown number or a full bucket costs nothing more
    onRequest: async (request: MessagesRequest, reply) => {
      const number = await numberInReach(ctx, request, request.params.phone_number_id, ['whatsapp_business_messaging'])
      requireCloudHosted(number, 'send its messages')
      await requireRegistered(ctx, number)
      await throttle(ctx, number, reply)
    },
  }, async (request: MessagesRequest) => cloudMessage(ctx, await ctx.number(request), request.body))
}

/**
 * A Cloud messages body for a Cloud-hosted number the caller may use: a send, or a mark read.
 * Meta's paths and 360dialog's `POST /messages` both answer with it.
 */
export async function cloudMessage(ctx: WebContext, number: PhoneNumberRow, body: unknown): Promise<object> {
  if (!isObject(body)) throw missing('body', 'the request body must be a JSON object')
  checkProduct(body)
  checkCloudKeys(body)
  if (body.status !== undefined && body.status !== null) return readMark(ctx, number, body)
  const { canonical, input, addressing } = await addressed(ctx, number, body)
  const sent = await sendMessage(ctx, number, canonical, CLOUD_RULES, addressing)
  const contact = addressing.recipient !== undefined ? { input, user_id: addressing.recipient } : { input, wa_id: sent.to }
  // wabox holds no message for quality assessment: every send it queues is accepted
  return { messaging_product: 'whatsapp', contacts: [contact], messages: [{ id: sent.id, message_status: 'accepted' }] }
}
