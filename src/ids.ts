import { randomBytes, randomUUID } from 'node:crypto'

/**
 * Message ids look like Meta's: `wamid.` + base64url of 16 random bytes, with a per-process
 * prefix so two processes never collide even if their random sources were identical.
 */
const processTag = randomBytes(4)

export function messageId(): string {
  return 'wamid.' + Buffer.concat([processTag, randomBytes(12)]).toString('base64url')
}

/** Media ids are UUIDs, as in the On-Premises API. */
export function mediaId(): string {
  return randomUUID()
}

/** Opaque random token for API keys, bearer tokens and trace ids. */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url')
}
