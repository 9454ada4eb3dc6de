import { randomInt } from 'node:crypto'
import { pooledRandomBytes } from '../ids.js'

/** A 15-digit numeric id, the shape of Meta's app, WABA and phone-number ids. */
export function graphId(): string {
  return String(randomInt(100_000, 1_000_000)) + String(randomInt(0, 1_000_000_000)).padStart(9, '0')
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** `length` uniformly random base62 characters (bytes of 248 and over are skipped, so none is favoured). */
export function randomBase62(length: number): string {
  let out = ''
  while (out.length < length) {
    for (const byte of pooledRandomBytes(Math.min(256, length - out.length + 16))) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62]
    }
  }
  return out
}
