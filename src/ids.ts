import { randomBytes, randomUUID } from 'node:crypto'
import { systemClock, type Clock } from './clock.js'

const POOL_BYTES = 8192
let pool = Buffer.alloc(0)
let poolOffset = 0

/**
 * `n` fresh random bytes cut from a pooled buffer, each byte handed out once (over 256: unpooled).
 * Every message needs several small random values (ids, at-rest IVs); one `randomBytes`
 * call costs ~10 µs here whatever its size, more than the AES-GCM seal that uses it.
 */
export function pooledRandomBytes(n: number): Buffer {
  if (n > 256) return randomBytes(n)
  if (poolOffset + n > pool.length) {
    pool = randomBytes(POOL_BYTES)
    poolOffset = 0
  }
  const out = pool.subarray(poolOffset, poolOffset + n)
  poolOffset += n
  return out
}

/**
 * Message ids look like Meta's: `wamid.` + base64url of 16 bytes: a per-process prefix (two
 * processes never collide even if their random sources were identical), the time in ms and 7
 * random bytes. Ids made close in time share a prefix, so the indexes keyed by message id
 * (messages, status history, envelopes) take a commit's new keys on a few pages, not one
 * random page per key. The time only orders keys; `clock` is the system's unless a caller has one.
 */
const processTag = randomBytes(4)

export function messageId(clock: Clock = systemClock): string {
  const id = Buffer.allocUnsafe(16)
  processTag.copy(id, 0)
  id.writeUIntBE(clock.now() % 2 ** 40, 4, 5)
  pooledRandomBytes(7).copy(id, 9)
  return 'wamid.' + id.toString('base64url')
}

/** Media ids are UUIDs, as in the On-Premises API. */
export function mediaId(): string {
  return randomUUID()
}

/** Opaque random token for API keys, bearer tokens and trace ids. */
export function randomToken(bytes = 24): string {
  return pooledRandomBytes(bytes).toString('base64url')
}
