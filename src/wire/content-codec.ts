import { Decoder, Encoder } from '@msgpack/msgpack'
import type { Content, MessageType } from './content.js'

// optional fields stay absent instead of arriving as null
const encoder = new Encoder({ ignoreUndefined: true })
const decoder = new Decoder()

/** Which field carries the body of each message type. */
const BODY_FIELD: Record<MessageType, string> = {
  text: 'text',
  image: 'media',
  video: 'media',
  audio: 'media',
  voice: 'media',
  document: 'media',
  sticker: 'media',
  location: 'location',
  contacts: 'contacts',
  interactive: 'interactive',
  template: 'template',
  reaction: 'reaction',
  button: 'button',
}

/** The end-to-end plaintext of one message, as MessagePack. */
export function encodeContent(content: Content): Uint8Array {
  return encoder.encode(content)
}

/** Decodes and shape-checks a plaintext; throws on anything that is not a `Content`. */
export function decodeContent(bytes: Uint8Array): Content {
  const value = decoder.decode(bytes) as Record<string, unknown> | null
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('content is not a map')
  if (value.kind !== 'message') throw new Error(`unknown content kind ${String(value.kind)}`)
  if (typeof value.id !== 'string' || typeof value.sentAt !== 'number') throw new Error('content lacks id or sentAt')
  const field = Object.hasOwn(BODY_FIELD, String(value.type)) ? BODY_FIELD[value.type as MessageType] : undefined
  if (!field) throw new Error(`unknown message type ${String(value.type)}`)
  if (typeof value[field] !== 'object' || value[field] === null) throw new Error(`${String(value.type)} message lacks ${field}`)
  return value as unknown as Content
}
