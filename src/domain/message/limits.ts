/**
 * How big and how deep an outbound message may be, decided at the edge so that every accepted
 * message can travel: the network refuses an envelope whose ciphertext is over its limit, and
 * deep values overflow the stack of whatever walks them later (JSON, MessagePack, the sealer).
 * Dialect-neutral; both checks are iterative and linear in the size of the value.
 */

/** The network's limit on one envelope's ciphertext (`MAX_ENVELOPE_BODY_BYTES` in wire/codec.ts). */
export const NETWORK_ENVELOPE_BYTES = 256 * 1024

/**
 * Room for what is added after the edge: the CoreApp's message id, timestamp, profile name and
 * media reference (about 1 KiB), and Signal's pre-key header with its Kyber ciphertext, MAC and
 * block padding (about 2 KiB).
 */
export const ENVELOPE_HEADROOM_BYTES = 16 * 1024

/** The largest outbound content, as measured by `encodedSizeBound`, that the edge accepts. */
export const MAX_CONTENT_BYTES = NETWORK_ENVELOPE_BYTES - ENVELOPE_HEADROOM_BYTES

/**
 * How many levels of objects and arrays a request body may nest, the body itself being level 1.
 * The deepest known shape, an interactive list row, sits at level 7.
 */
export const MAX_NESTING_DEPTH = 16

/** Widest MessagePack header of a string, array or map (type byte + 32-bit length). */
const HEADER = 5
/** A number encoded as float64 or 64-bit integer (type byte + 8). */
const NUMBER = 9

/**
 * An upper bound of the bytes a JSON value takes MessagePack-encoded (the end-to-end encoding):
 * every header at its widest and every number at 8 bytes.
 */
export function encodedSizeBound(value: unknown): number {
  let total = 0
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v === 'string') total += HEADER + Buffer.byteLength(v)
    else if (typeof v === 'number' || typeof v === 'bigint') total += NUMBER
    else if (Array.isArray(v)) {
      total += HEADER
      for (const item of v) stack.push(item)
    } else if (typeof v === 'object' && v !== null) {
      total += HEADER
      for (const [key, item] of Object.entries(v)) {
        total += HEADER + Buffer.byteLength(key)
        stack.push(item)
      }
    } else total += 1
  }
  return total
}

interface Level {
  value: object
  depth: number
  key: string | number
  parent: Level | undefined
}

/**
 * The path (keys and indexes from the root) of the first object or array nested deeper than
 * `maxDepth` levels, the root being level 1; undefined when the value is within the limit.
 */
export function pathTooDeep(value: unknown, maxDepth = MAX_NESTING_DEPTH): (string | number)[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const stack: Level[] = [{ value, depth: 1, key: '', parent: undefined }]
  for (let level = stack.pop(); level; level = stack.pop()) {
    if (level.depth > maxDepth) return pathOf(level)
    const children: [string | number, unknown][] = Array.isArray(level.value) ? [...level.value.entries()] : Object.entries(level.value)
    for (const [key, child] of children) {
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: level.depth + 1, key, parent: level })
    }
  }
  return undefined
}

function pathOf(level: Level): (string | number)[] {
  const path: (string | number)[] = []
  for (let at: Level | undefined = level; at?.parent; at = at.parent) path.push(at.key)
  return path.reverse()
}
