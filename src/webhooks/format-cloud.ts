import type { CallbackEvent, ContactsEvent, InboundMessageEvent, StatusEvent, WebhookError } from '../domain/events.js'
import { perMessagePricing, type PerMessagePricing } from '../domain/pricing.js'
import { cloudWebhookErrorObject, isKnownCode, webhookError, type CloudWebhookError } from '../errors/index.js'
import { groupEvents } from './format-onprem.js'

/** The number a Cloud notification is about. */
export interface CloudWebhookNumber {
  id: string
  /** Digits only, as Meta sends `display_phone_number`. */
  displayPhoneNumber: string
  /** `entry[].id`; a number in no WABA puts its own id there. */
  wabaId?: string | null
  /**
   * Cloud-hosted numbers are billed per message: statuses carry the PMP `pricing` and no
   * `conversation`. Without it, what the engine stored is shown as it is.
   */
  perMessagePricing?: boolean
}

type CloudMessage = { from: string; id: string; timestamp: string; type: string; [key: string]: unknown }
type CloudStatus = Omit<StatusEvent['status'], 'errors' | 'conversation' | 'pricing'> & {
  conversation?: { id: string; expiration_timestamp?: number; origin: { type: string } }
  pricing?: StatusEvent['status']['pricing'] | PerMessagePricing
  errors?: CloudWebhookError[]
}

export interface CloudWebhookValue {
  messaging_product: 'whatsapp'
  metadata: { display_phone_number: string; phone_number_id: string }
  /** A sender's contact has their business-scoped user id, `user_id`; a status's recipient has `user_id` and, when shown, `wa_id`. */
  contacts?: ((InboundMessageEvent['contact'] & { user_id?: string }) | ContactsEvent['contacts'][number] | { wa_id?: string; user_id: string })[]
  messages?: CloudMessage[]
  statuses?: CloudStatus[]
  errors?: CloudWebhookError[]
}

/** Cloud notification envelope (cloud-api.md §3.2). */
export interface CloudWebhookBody {
  object: 'whatsapp_business_account'
  /** `messages`, or an account update's field, whose value has the shape of that field instead. */
  /** `time` (unix seconds) only on account-level notifications, as Meta sends them. */
  entry: { id: string; time?: number; changes: { field: string; value: CloudWebhookValue }[] }[]
}

const SYSTEM_TYPES: Record<string, string> = {
  user_changed_number: 'customer_changed_number',
  user_identity_changed: 'customer_identity_changed',
}
const MEDIA_TYPES = new Set(['image', 'video', 'audio', 'voice', 'document', 'sticker'])
/** On-Prem-only message fields that have no place in a Cloud message object. */
const ONPREM_ONLY = new Set(['identity', 'group_id'])

/** An On-Prem error object with its Cloud code and `{code,title,message,error_data}` shape. */
export function cloudWebhookError(error: WebhookError): CloudWebhookError {
  // a stored Cloud code wins where the On-Prem code has no one-to-one twin (429 → 131056)
  if (error.cloud_code !== undefined && isKnownCode(error.cloud_code)) return webhookError(error.cloud_code, error.details).cloud
  if (isKnownCode(error.code)) return webhookError(error.code, error.details).cloud
  // unknown codes are kept rather than guessed
  return cloudWebhookErrorObject(error.code, error.title, error.details ?? error.title)
}

/**
 * All events of one POST go into one entry with one `messages` change, in event order; each
 * account update (template status, quality, ...) is a change of its own field after it.
 */
export function renderCloudWebhook(events: readonly CallbackEvent[], number: CloudWebhookNumber): CloudWebhookBody {
  // Cloud has no asynchronous contacts check; its results travel as they are rather than be lost
  const { contacts, messages, statuses, errors } = groupEvents(events.map(cloudEvent))
  const value: CloudWebhookValue = {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: number.displayPhoneNumber, phone_number_id: number.id },
  }
  const recipients = statusContacts(events)
  if (contacts.length + recipients.length > 0) value.contacts = [...contacts, ...recipients]
  if (messages.length > 0) value.messages = messages.map(cloudMessage)
  if (statuses.length > 0) value.statuses = statuses.map((s) => cloudStatus(s, number.perMessagePricing === true))
  if (errors.length > 0) value.errors = errors.map(cloudWebhookError)
  const updates = events.flatMap((e) => (e.type === 'account_update' ? [{ field: e.field, value: e.value as unknown as CloudWebhookValue }] : []))
  const messagesChange = updates.length < events.length ? [{ field: 'messages', value }] : []
  const time = events.find((e) => e.type === 'account_update' && e.time !== undefined) as { time: number } | undefined
  return { object: 'whatsapp_business_account', entry: [{ id: number.wabaId ?? number.id, ...(time ? { time: time.time } : {}), changes: [...messagesChange, ...updates] }] }
}

/**
 * Statuses name their recipient in `contacts` too, with the user id (cloud-2026 §1.4), except
 * failed ones; the phone number only where the send named it.
 */
function statusContacts(events: readonly CallbackEvent[]): { wa_id?: string; user_id: string }[] {
  const out = new Map<string, { wa_id?: string; user_id: string }>()
  for (const e of events) {
    if (e.type !== 'status' || !e.user_id || e.status.status === 'failed' || out.has(e.user_id)) continue
    out.set(e.user_id, e.by_user_id ? { user_id: e.user_id } : { wa_id: e.status.recipient_id, user_id: e.user_id })
  }
  return [...out.values()]
}

function cloudMessage(message: InboundMessageEvent['message']): CloudMessage {
  const out: CloudMessage = { from: message.from, id: message.id, timestamp: message.timestamp, type: message.type }
  for (const [key, val] of Object.entries(message)) {
    if (key in out || ONPREM_ONLY.has(key) || val === undefined) continue
    if (key === 'context') out.context = cloudContext(val as Record<string, unknown>)
    else if (key === 'errors') out.errors = (val as WebhookError[]).map(cloudWebhookError)
    else if (key === 'system') out.system = cloudSystem(val as Record<string, unknown>, message.from)
    else if (MEDIA_TYPES.has(key)) out[key] = cloudMedia(val as Record<string, unknown>)
    else out[key] = val
  }
  // Cloud reports voice notes as audio with `voice: true`
  if (message.type === 'voice') {
    out.type = 'audio'
    out.audio = { ...(out.voice as Record<string, unknown>), voice: true }
    delete out.voice
  }
  return out
}

function cloudContext(context: Record<string, unknown>): Record<string, unknown> {
  const { group_id: _group, mentions: _mentions, ...rest } = context
  return rest
}

function cloudMedia(media: Record<string, unknown>): Record<string, unknown> {
  // `file` is the deprecated On-Prem container path
  const { file: _file, ...rest } = media
  return rest
}

function cloudSystem(system: Record<string, unknown>, from: string): Record<string, unknown> {
  const type = typeof system.type === 'string' ? SYSTEM_TYPES[system.type] ?? system.type : system.type
  return { ...system, type, customer: system.customer ?? from }
}

function cloudStatus(status: StatusEvent['status'], perMessage: boolean): CloudStatus {
  const { errors, conversation, ...rest } = status
  const out: CloudStatus = { ...rest }
  if (perMessage && rest.pricing) out.pricing = perMessagePricing(rest.pricing)
  if (conversation && !perMessage) {
    const { expiration_timestamp: expires, ...conv } = conversation
    out.conversation = expires === undefined ? conv : { ...conv, expiration_timestamp: Number(expires) }
  }
  if (errors) out.errors = errors.map(cloudWebhookError)
  return out
}

/**
 * The event as Cloud shows it. Business-scoped user ids ride beside the On-Prem objects (On-Prem
 * never shows them); Cloud puts them in: `contacts[].user_id` and `from_user_id` of a message,
 * `recipient_user_id` of a status. An `unknown` message becomes `unsupported`.
 */
function cloudEvent(event: CallbackEvent): CallbackEvent {
  if (event.type === 'message' && event.message.type === 'unknown') {
    // Cloud's name for what it cannot show (cloud-2026 §1.6): `unsupported`, saying what it was
    const message = { ...event.message, type: 'unsupported', unsupported: { type: event.unsupported_type ?? 'unknown' } }
    return cloudEvent({ ...event, message })
  }
  if (event.type === 'message' && event.user_id) {
    const contact = { ...event.contact, user_id: event.user_id }
    return { ...event, contact, message: { ...event.message, from_user_id: event.user_id } }
  }
  if (event.type === 'status' && (event.user_id || event.by_user_id)) {
    const { recipient_id: recipientId, ...rest } = event.status
    // a send to a user id alone does not show the phone number behind it
    const status = { ...rest, ...(event.by_user_id ? {} : { recipient_id: recipientId }), ...(event.user_id ? { recipient_user_id: event.user_id } : {}) }
    return { ...event, status: status as StatusEvent['status'] }
  }
  return event
}
