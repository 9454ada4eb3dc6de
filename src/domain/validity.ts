/**
 * How long a queued message stays sendable without a TTL of its own: a message still unsent
 * one day after it was accepted (e.g. the CoreApp was down) fails with 408 "Message is not
 * valid" instead (onprem-api.md §2.4, §9.3).
 */
export const PENDING_VALIDITY_MS = 24 * 60 * 60 * 1000

/** The failure code a queued message earns by waiting, if any: 410 past its TTL, 408 pending over a day. */
export function pendingVerdict(acceptedAt: number, expiresAt: number | null, now: number): 408 | 410 | undefined {
  // a message with its own TTL is governed by that TTL alone
  if (expiresAt !== null) return expiresAt <= now ? 410 : undefined
  return now - acceptedAt > PENDING_VALIDITY_MS ? 408 : undefined
}
