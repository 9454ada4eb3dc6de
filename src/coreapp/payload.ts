import type { OutboundContent } from '../domain/message/outbound.js'
import type { HydratedTemplate } from '../domain/templates.js'
import type { Content, MediaRef, MessageBody } from '../wire/content.js'

/** What the pipeline resolved before building: uploaded media and the hydrated template. */
export interface ResolvedParts {
  /** The message's own media (image, audio, video, document, sticker). */
  media?: Omit<MediaRef, 'caption' | 'filename'>
  template?: HydratedTemplate
  /** Media of a template header. */
  headerMedia?: Omit<MediaRef, 'caption' | 'filename'>
}

export interface ContentMeta {
  id: string
  sentAt: number
  profileName?: string
}

/** The end-to-end plaintext of an outbound message: the On-Prem body turned into wire `Content`. */
export function buildContent(msg: OutboundContent, meta: ContentMeta, parts: ResolvedParts = {}): Content {
  const body = buildBody(msg, parts)
  const content = { kind: 'message', id: meta.id, sentAt: meta.sentAt, ...body } as Content
  if (meta.profileName) content.profileName = meta.profileName
  if (msg.context?.message_id) content.context = { id: msg.context.message_id }
  return content
}

function buildBody(msg: OutboundContent, parts: ResolvedParts): MessageBody {
  switch (msg.type) {
    case 'text':
      return { type: 'text', text: msg.preview_url ? { body: msg.text.body, preview_url: true } : { body: msg.text.body } }
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      if (!parts.media) throw new Error(`${msg.type} message built without its uploaded media`)
      const object = mediaObjectOf(msg)
      const media: MediaRef = { ...parts.media }
      if (object.caption !== undefined && msg.type !== 'audio' && msg.type !== 'sticker') media.caption = object.caption
      if (object.filename !== undefined && msg.type === 'document') media.filename = object.filename
      return { type: msg.type, media }
    }
    case 'location':
      return { type: 'location', location: { ...msg.location } }
    case 'contacts':
      return { type: 'contacts', contacts: msg.contacts }
    case 'interactive':
      return { type: 'interactive', interactive: msg.interactive }
    case 'reaction':
      return { type: 'reaction', reaction: { message_id: msg.reaction.message_id, emoji: msg.reaction.emoji } }
    case 'template':
    case 'hsm':
      if (!parts.template) throw new Error(`${msg.type} message built without its hydrated template`)
      return { type: 'template', template: templateBody(parts.template, parts.headerMedia) }
  }
}

function templateBody(t: HydratedTemplate, headerMedia: ResolvedParts['headerMedia']): Extract<MessageBody, { type: 'template' }>['template'] {
  const out: Extract<MessageBody, { type: 'template' }>['template'] = { name: t.name, language: t.language, body: t.body }
  if (t.header?.text !== undefined) out.header = { text: t.header.text }
  else if (t.header?.media) {
    if (!headerMedia) throw new Error('template header media was not uploaded')
    out.header = { media: { ...headerMedia } }
  } else if (t.header?.location) {
    const l = t.header.location
    out.header = { text: [l.name, l.address].filter(Boolean).join('\n') || `${l.latitude},${l.longitude}` }
  }
  if (t.footer !== undefined) out.footer = t.footer
  if (t.buttons) out.buttons = t.buttons.map((b) => ({ ...b }))
  return out
}

type MediaMessage = Extract<OutboundContent, { type: 'image' | 'video' | 'audio' | 'document' | 'sticker' }>

export function isMediaMessage(msg: OutboundContent): msg is MediaMessage {
  return msg.type === 'image' || msg.type === 'video' || msg.type === 'audio' || msg.type === 'document' || msg.type === 'sticker'
}

export function mediaObjectOf(msg: MediaMessage): { id?: string; link?: string; caption?: string; filename?: string; provider?: { name: string } } {
  switch (msg.type) {
    case 'image':
      return msg.image
    case 'video':
      return msg.video
    case 'audio':
      return msg.audio
    case 'document':
      return msg.document
    case 'sticker':
      return msg.sticker
  }
}
