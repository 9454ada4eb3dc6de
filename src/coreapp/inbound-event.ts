import type { InboundMessageEvent } from '../domain/events.js'
import { WebhookCode } from '../errors/index.js'
import type { Content } from '../wire/content.js'
import { failure, webhookErrorOf } from './failures.js'

/** Where an inbound media file went: its media id on the volume (or just the id if not downloaded). */
export interface StoredMedia {
  id: string
  mimeType: string
  sha256: string
}

export interface InboundContext {
  from: string
  /** Unix seconds as a string, as WhatsApp payloads carry them. */
  timestamp: string
  /** The business's own wa_id: the `from` of a quoted business message. */
  businessWaId: string
  media?: StoredMedia
  /** Set when a media file could not be fetched: the callback still goes out, with the error. */
  mediaError?: string
}

/** The On-Prem inbound message object (onprem-api.md §8.1) for a decrypted `Content`. */
export function inboundMessage(content: Content, ctx: InboundContext): InboundMessageEvent['message'] {
  const base = { from: ctx.from, id: content.id, timestamp: ctx.timestamp }
  const out: InboundMessageEvent['message'] = { ...base, type: content.type }
  switch (content.type) {
    case 'text':
      out.text = { body: content.text.body }
      break
    case 'image':
    case 'video':
    case 'audio':
    case 'voice':
    case 'document':
    case 'sticker': {
      const media: Record<string, unknown> = {
        id: ctx.media?.id ?? '',
        mime_type: ctx.media?.mimeType ?? content.media.mimeType,
        sha256: ctx.media?.sha256 ?? content.media.sha256,
      }
      if (content.media.caption !== undefined) media.caption = content.media.caption
      if (content.media.filename !== undefined) media.filename = content.media.filename
      out[content.type] = media
      if (ctx.mediaError) out.errors = [webhookErrorOf(failure(WebhookCode.MEDIA_DOWNLOAD_ERROR, ctx.mediaError))]
      break
    }
    case 'location':
      out.location = { ...content.location }
      break
    case 'contacts':
      out.contacts = content.contacts
      break
    case 'interactive':
      out.interactive = content.interactive
      break
    case 'button':
      out.button = { text: content.button.text, payload: content.button.payload }
      break
    case 'reaction':
      out.reaction = { message_id: content.reaction.message_id, emoji: content.reaction.emoji }
      break
    case 'template':
      // phones do not send templates; report it the way WhatsApp reports what it cannot show
      out.type = 'unknown'
      out.errors = [webhookErrorOf(failure(WebhookCode.UNSUPPORTED_MESSAGE_TYPE, ''))]
      break
  }
  if (content.context) out.context = { from: content.context.from ?? ctx.businessWaId, id: content.context.id }
  return out
}

/** The system message that reports a user's new security code (identity key). */
export function identityChangedMessage(opts: { id: string; from: string; timestamp: string; hash: string; createdAt: number; name: string }): InboundMessageEvent['message'] {
  return {
    from: opts.from,
    id: opts.id,
    timestamp: opts.timestamp,
    type: 'system',
    system: { body: `${opts.name}'s security code changed.`, type: 'user_identity_changed' },
    identity: { acknowledged: false, created_timestamp: opts.createdAt, hash: opts.hash },
  }
}
