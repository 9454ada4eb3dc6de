import { invalid, missing, notAllowed, OnPremCode, WaboxError } from '../../errors/index.js'
import { normalizePhone } from '../phone-number.js'
import {
  charLength, checkNesting, isHttpUrl, isObject, join, objects, optBoolean, optObject, optString,
  reqArray, reqObject, reqString, validateLocation, type Obj,
} from './fields.js'
import { validateInteractive } from './interactive-validation.js'
import { encodedSizeBound, MAX_CONTENT_BYTES, NETWORK_ENVELOPE_BYTES } from './limits.js'
import type { MediaCategory, MediaObject, OutboundContent, OutboundType } from './outbound.js'
import { validateHsm, validateTemplate } from './template-validation.js'

/**
 * Validation of a `/v1/messages` body at the edge (onprem-api.md §2, interactive limits from
 * cloud-api.md §1.2). Pure: media ids are returned for the caller to check against the store.
 */
export const OUTBOUND_TYPES: readonly OutboundType[] = [
  'text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'contacts', 'interactive', 'template', 'hsm', 'reaction',
]

export const MAX_TEXT = 4096
const MAX_CAPTION = 1024
const TTL_MAX_DAYS = 30
const DAY_MS = 24 * 3600 * 1000

export interface MediaIdRef {
  /** Field path of the id, for error details. */
  path: string
  id: string
  /** Categories the media must be of; undefined = any (documents). */
  categories?: MediaCategory[]
}

export interface ValidationOptions {
  /** On-Prem requires `template.namespace` (2014); the Cloud dialect does not. */
  requireNamespace: boolean
  /** Names of configured media providers; a `provider.name` must be one of them. */
  mediaProviders?: readonly string[]
}

export interface ValidatedMessage {
  content: OutboundContent
  /** TTL of a template/hsm message, ms. */
  ttlMs?: number
  mediaIds: MediaIdRef[]
}

type MediaType = 'image' | 'video' | 'audio' | 'document' | 'sticker'

const MEDIA_CATEGORIES: Record<MediaType, MediaCategory[] | undefined> = {
  image: ['image'], video: ['video'], audio: ['audio'], sticker: ['sticker'], document: undefined,
}

/** Collects media ids while validating nested objects. */
export class MediaCollector {
  readonly refs: MediaIdRef[] = []
  constructor(readonly opts: ValidationOptions) {}

  /** A media object: exactly one of id / link, and the extra fields its kind allows. */
  media(o: Obj, path: string, kind: MediaType, extras: { caption: boolean; filename: boolean }): MediaObject {
    const id = optString(o, 'id', path, { min: 1, max: 256 })
    const link = optString(o, 'link', path, { min: 1, max: 2048 })
    if (id === undefined && link === undefined) throw missing(join(path, 'id'), `send either ${path}.id (from /v1/media) or ${path}.link`)
    if (id !== undefined && link !== undefined) throw invalid(path, 'send either id or link, not both')
    if (link !== undefined && !isHttpUrl(link)) throw invalid(join(path, 'link'), 'must be an http:// or https:// URL')
    const out: MediaObject = id !== undefined ? { id } : { link: link as string }
    if (id !== undefined) {
      const categories = MEDIA_CATEGORIES[kind]
      this.refs.push(categories ? { path: join(path, 'id'), id, categories } : { path: join(path, 'id'), id })
    }
    const caption = o.caption
    if (caption !== undefined && caption !== null) {
      if (!extras.caption) throw notAllowed(join(path, 'caption'), `${kind} media carries no caption here`)
      out.caption = optString(o, 'caption', path, { max: MAX_CAPTION })
    }
    const filename = o.filename
    if (filename !== undefined && filename !== null) {
      if (!extras.filename) throw notAllowed(join(path, 'filename'), 'only documents have a filename')
      out.filename = optString(o, 'filename', path, { min: 1, max: 240 })
    }
    const provider = optObject(o, 'provider', path)
    if (provider) {
      if (link === undefined) throw notAllowed(join(path, 'provider'), 'a media provider applies to link media only')
      const name = reqString(provider, 'name', join(path, 'provider'), { max: 128 })
      if (this.opts.mediaProviders && !this.opts.mediaProviders.includes(name)) {
        throw invalid(join(path, 'provider.name'), `no media provider named '${name}' is configured (POST /v1/settings/application/media/providers)`)
      }
      out.provider = { name }
    }
    return out
  }
}

function validateContacts(items: unknown[], path: string): Record<string, unknown>[] {
  return objects(items, path).map((card, i) => {
    const at = join(path, i)
    const name = reqObject(card, 'name', at)
    reqString(name, 'formatted_name', join(at, 'name'), { max: 1024 })
    for (const key of ['first_name', 'last_name', 'middle_name', 'prefix', 'suffix']) optString(name, key, join(at, 'name'))
    optString(card, 'birthday', at, { max: 10, pattern: /^\d{4}-\d{2}-\d{2}$/, rule: 'must be a date as YYYY-MM-DD' })
    for (const key of ['addresses', 'emails', 'ims', 'phones', 'urls']) {
      const list = card[key]
      if (list !== undefined && list !== null) objects(reqArray(card, key, at), join(at, key))
    }
    const phones = card.phones
    if (Array.isArray(phones)) {
      phones.forEach((p, j) => optString(p as Obj, 'phone', join(join(at, 'phones'), j)))
    }
    optObject(card, 'org', at)
    return card
  })
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' })
/** UTF-16 units of the longest emoji (a kiss with two skin tones takes 15), with room to spare. */
const MAX_EMOJI_UNITS = 32

/** At most one grapheme; segmenting costs the square of the length, so only short strings get here. */
function isOneGrapheme(s: string): boolean {
  let count = 0
  for (const _ of segmenter.segment(s)) if (++count > 1) return false
  return true
}

function validateReaction(o: Obj, path: string): { message_id: string; emoji: string } {
  const messageId = reqString(o, 'message_id', path, { max: 256 })
  const emoji = o.emoji
  if (emoji === undefined || emoji === null) throw missing(join(path, 'emoji'), 'send an empty string to remove a reaction')
  if (typeof emoji !== 'string' || emoji.length > MAX_EMOJI_UNITS || !isOneGrapheme(emoji)) {
    throw invalid(join(path, 'emoji'), `must be a single emoji (at most ${MAX_EMOJI_UNITS} UTF-16 code units), or empty to remove the reaction`)
  }
  return { message_id: messageId, emoji }
}

/** 1001 when the content cannot fit in one network envelope once encoded and encrypted. */
function checkContentSize(content: OutboundContent): void {
  const bytes = encodedSizeBound(content)
  if (bytes > MAX_CONTENT_BYTES) {
    throw new WaboxError(OnPremCode.MESSAGE_TOO_LONG,
      `'${content.type}' makes the message ${bytes} bytes once encoded; at most ${MAX_CONTENT_BYTES} bytes fit in one message `
      + `(the network carries ${NETWORK_ENVELOPE_BYTES} bytes per message, less room for encryption)`)
  }
}

function validateTtl(body: Obj, type: OutboundType): number | undefined {
  const ttl = body.ttl
  if (ttl === undefined || ttl === null) return undefined
  if (type !== 'template' && type !== 'hsm') throw notAllowed('ttl', 'only template and hsm messages carry a ttl')
  const days = typeof ttl === 'number' ? ttl : isObject(ttl) ? ttl.days : undefined
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > TTL_MAX_DAYS) {
    throw invalid(isObject(ttl) ? 'ttl.days' : 'ttl', `must be a whole number of days from 1 to ${TTL_MAX_DAYS}`)
  }
  return days * DAY_MS
}

function validateText(o: Obj): { body: string; preview_url?: boolean } {
  const text = o.body
  if (text === undefined || text === null) throw missing('text.body')
  if (typeof text !== 'string') throw invalid('text.body', 'must be a string')
  if (text.trim() === '') throw invalid('text.body', 'must not be empty')
  const len = charLength(text)
  if (len > MAX_TEXT) {
    throw new WaboxError(OnPremCode.MESSAGE_TOO_LONG, `text.body is ${len} characters long; the maximum is ${MAX_TEXT}`)
  }
  const preview = optBoolean(o, 'preview_url', 'text')
  return preview === undefined ? { body: text } : { body: text, preview_url: preview }
}

/** Validates and normalises an On-Prem `/v1/messages` body; throws a WaboxError naming the field. */
export function validateOutbound(raw: unknown, opts: ValidationOptions): ValidatedMessage {
  if (!isObject(raw)) throw missing('body', 'the request body must be a JSON object')
  checkNesting(raw, '')
  const body = raw
  const recipientType = body.recipient_type
  if (recipientType !== undefined && recipientType !== null && recipientType !== 'individual') {
    throw new WaboxError(OnPremCode.INVALID_RECIPIENT_TYPE,
      `Invalid value for 'recipient_type': must be "individual"${recipientType === 'group' ? ' (group messaging is not supported)' : ''}`)
  }
  const rawTo = reqString(body, 'to', '', { max: 64 })
  const to = normalizePhone(rawTo)
  if (!to) throw invalid('to', 'must be a phone number or WhatsApp id (5 to 15 digits, "+", spaces, dashes and parentheses allowed)')

  const type = (body.type ?? 'text') as OutboundType
  if (typeof type !== 'string' || !OUTBOUND_TYPES.includes(type)) {
    throw invalid('type', `must be one of ${OUTBOUND_TYPES.map((t) => `"${t}"`).join(', ')}`)
  }
  const previewUrl = optBoolean(body, 'preview_url', '')
  const ttlMs = validateTtl(body, type)
  const c = new MediaCollector(opts)

  let content: OutboundContent
  if (type === 'contacts') {
    content = { type, to, contacts: validateContacts(reqArray(body, 'contacts', '', 1, 257), 'contacts') }
  } else {
    const payload = reqObject(body, type, '')
    switch (type) {
      case 'text': {
        const text = validateText(payload)
        if (previewUrl !== undefined && text.preview_url === undefined) text.preview_url = previewUrl
        content = { type, to, text: { body: text.body }, ...(text.preview_url !== undefined ? { preview_url: text.preview_url } : {}) }
        break
      }
      case 'image':
      case 'video':
      case 'document':
        content = { type, to, [type]: c.media(payload, type, type, { caption: true, filename: type === 'document' }) } as unknown as OutboundContent
        break
      case 'audio':
      case 'sticker':
        content = { type, to, [type]: c.media(payload, type, type, { caption: false, filename: false }) } as unknown as OutboundContent
        break
      case 'location':
        content = { type, to, location: validateLocation(payload, 'location') }
        break
      case 'interactive':
        content = { type, to, interactive: validateInteractive(payload, c) }
        break
      case 'template':
        content = { type, to, template: validateTemplate(payload, c) }
        break
      case 'hsm':
        content = { type, to, hsm: validateHsm(payload, opts) }
        break
      case 'reaction':
        content = { type, to, reaction: validateReaction(payload, 'reaction') }
        break
    }
  }

  const context = optObject(body, 'context', '')
  if (context) content.context = { message_id: reqString(context, 'message_id', 'context', { max: 256 }) }
  const opaque = body.biz_opaque_callback_data
  if (opaque !== undefined && opaque !== null) {
    if (typeof opaque !== 'string' || Buffer.byteLength(opaque) > 512) throw invalid('biz_opaque_callback_data', 'must be a string of at most 512 bytes')
    content.biz_opaque_callback_data = opaque
  }
  checkContentSize(content)
  return ttlMs === undefined ? { content, mediaIds: c.refs } : { content, ttlMs, mediaIds: c.refs }
}
