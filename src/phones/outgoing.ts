import type { Content, ContextRef, MediaRef } from '../wire/content.js'

export const MEDIA_TYPES = ['image', 'video', 'audio', 'voice', 'document', 'sticker'] as const
export type MediaType = (typeof MEDIA_TYPES)[number]

/** What a user does on a phone; `replyTo` quotes an earlier message (WhatsApp's `context`). */
export type PhoneSendRequest = { to: string; replyTo?: string } & (
  | { type: 'text'; text: string; previewUrl?: boolean }
  | { type: MediaType; data: Uint8Array; mimeType: string; caption?: string; filename?: string }
  | { type: 'location'; latitude: number; longitude: number; name?: string; address?: string }
  | { type: 'contacts'; contacts: unknown[] }
  /** Quick-reply button of a template. */
  | { type: 'button'; text: string; payload: string }
  /** Reply buttons and list rows of an interactive message. */
  | { type: 'button_reply'; id: string; title: string }
  | { type: 'list_reply'; id: string; title: string; description?: string }
  | { type: 'reaction'; messageId: string; emoji: string }
)

export type PhoneSendType = PhoneSendRequest['type']

export class SendRequestError extends Error {}

export function isMediaRequest(req: PhoneSendRequest): req is Extract<PhoneSendRequest, { type: MediaType }> {
  return (MEDIA_TYPES as readonly string[]).includes(req.type)
}

/**
 * Validates a JSON send body (the control API's, media as base64 `data`) into a request.
 * Throws SendRequestError naming the first bad field.
 */
export function parseSendRequest(body: unknown): PhoneSendRequest {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  const str = (field: string, optional = false): string | undefined => {
    const v = b[field]
    if (v === undefined && optional) return undefined
    if (typeof v !== 'string' || v === '') throw new SendRequestError(`${field} must be a non-empty string`)
    return v
  }
  const num = (field: string): number => {
    const v = b[field]
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new SendRequestError(`${field} must be a number`)
    return v
  }
  const common = { to: str('to')!, ...(b.replyTo !== undefined ? { replyTo: str('replyTo')! } : {}) }
  const type = str('type')!
  switch (type) {
    case 'text':
      return { ...common, type, text: str('text')!, ...(b.previewUrl === true ? { previewUrl: true } : {}) }
    case 'location':
      return { ...common, type, latitude: num('latitude'), longitude: num('longitude'), ...optionalStrings(str, ['name', 'address']) }
    case 'contacts':
      if (!Array.isArray(b.contacts) || b.contacts.length === 0) throw new SendRequestError('contacts must be a non-empty array')
      return { ...common, type, contacts: b.contacts }
    case 'button':
      return { ...common, type, text: str('text')!, payload: str('payload')! }
    case 'button_reply':
      return { ...common, type, id: str('id')!, title: str('title')! }
    case 'list_reply':
      return { ...common, type, id: str('id')!, title: str('title')!, ...optionalStrings(str, ['description']) }
    case 'reaction':
      return { ...common, type, messageId: str('messageId')!, emoji: typeof b.emoji === 'string' ? b.emoji : str('emoji')! }
  }
  if (!(MEDIA_TYPES as readonly string[]).includes(type)) throw new SendRequestError(`unknown type ${type}`)
  const data = Buffer.from(str('data')!, 'base64')
  if (data.length === 0) throw new SendRequestError('data must be base64 of a non-empty file')
  return { ...common, type: type as MediaType, data, mimeType: str('mimeType')!, ...optionalStrings(str, ['caption', 'filename']) }
}

function optionalStrings(str: (field: string, optional: boolean) => string | undefined, fields: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const field of fields) {
    const v = str(field, true)
    if (v !== undefined) out[field] = v
  }
  return out
}

/** The end-to-end plaintext for a request; media requests carry the already uploaded `media`. */
export function buildContent(req: PhoneSendRequest, meta: { id: string; sentAt: number; profileName?: string; media?: MediaRef }): Content {
  const context: ContextRef | undefined = req.replyTo ? { id: req.replyTo } : undefined
  const head = { kind: 'message' as const, id: meta.id, sentAt: meta.sentAt, profileName: meta.profileName, context }
  switch (req.type) {
    case 'text':
      return { ...head, type: 'text', text: { body: req.text, preview_url: req.previewUrl } }
    case 'location':
      return { ...head, type: 'location', location: { latitude: req.latitude, longitude: req.longitude, name: req.name, address: req.address } }
    case 'contacts':
      return { ...head, type: 'contacts', contacts: req.contacts }
    case 'button':
      return { ...head, type: 'button', button: { text: req.text, payload: req.payload } }
    case 'button_reply':
      return { ...head, type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: req.id, title: req.title } } }
    case 'list_reply':
      return {
        ...head,
        type: 'interactive',
        interactive: { type: 'list_reply', list_reply: { id: req.id, title: req.title, description: req.description } },
      }
    case 'reaction':
      return { ...head, type: 'reaction', reaction: { message_id: req.messageId, emoji: req.emoji } }
    default:
      if (!meta.media) throw new Error(`${req.type} message needs its uploaded media`)
      return { ...head, type: req.type, media: { ...meta.media, caption: req.caption, filename: req.filename } }
  }
}

/** The media a received message carries, if any (media messages and template headers). */
export function mediaOf(content: Content): MediaRef | undefined {
  if ('media' in content) return content.media
  if (content.type === 'template') return content.template.header?.media
  return undefined
}
