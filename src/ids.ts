import { randomBytes, randomUUID } from 'node:crypto'

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
 * Message ids look like Meta's: `wamid.` + base64url of 16 random bytes, with a per-process
 * prefix so two processes never collide even if their random sources were identical.
 */
const processTag = randomBytes(4)

export function messageId(): string {
  return 'wamid.' + Buffer.concat([processTag, pooledRandomBytes(12)]).toString('base64url')
}

/** Media ids are UUIDs, as in the On-Premises API. */
export function mediaId(): string {
  return randomUUID()
}

/** Opaque random token for API keys, bearer tokens and trace ids. */
export function randomToken(bytes = 24): string {
  return pooledRandomBytes(bytes).toString('base64url')
}
