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
  if (nestedDeeperThan(value, MAX_CONTENT_DEPTH)) throw new Error(`content is nested deeper than ${MAX_CONTENT_DEPTH} levels`)
  return value as unknown as Content
}

/**
 * The decoder reads any depth, but what reads the content next (JSON of the stored message and
 * its callback) recurses and overflows the stack a few thousand levels down. The bound is the
 * one `encodeContent` writes, so no honest sender is refused.
 */
export const MAX_CONTENT_DEPTH = 100

/** Whether maps and arrays nest deeper than `max` (the root is level 0); walks without recursing. */
function nestedDeeperThan(root: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[root, 0]]
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [value, depth] = item
    if (typeof value !== 'object' || value === null || value instanceof Uint8Array) continue
    if (depth > max) return true
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push([child, depth + 1])
  }
  return false
}
