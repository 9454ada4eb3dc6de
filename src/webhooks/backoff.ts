import type { ApplicationSettings } from '../domain/settings.js'

/** Cloud schedule: 1 s × 2^n, capped at one hour, until the retry window closes. */
export const CLOUD_BASE_DELAY_MS = 1000
export const CLOUD_MAX_DELAY_MS = 3_600_000

export type RetryDecision = { kind: 'retry'; at: number } | { kind: 'dead' }

export interface RetryInput {
  settings: ApplicationSettings
  /** Failed attempts so far, including the one that just failed (≥ 1). */
  attempts: number
  /** When the attempt failed. */
  now: number
  /** Start of the retry window (created_at, or the last replay). */
  since: number
}

/** On-Prem: `step × attempts`, capped (3 s, 6 s, 9 s … 15 min, then the cap forever). */
export function linearDelay(attempts: number, stepMs: number, capMs: number): number {
  return Math.min(Math.max(stepMs, 0) * Math.max(attempts, 1), Math.max(capMs, 0))
}

/** Cloud: `base × 2^(attempts-1)`, capped. */
export function exponentialDelay(attempts: number, baseMs = CLOUD_BASE_DELAY_MS, capMs = CLOUD_MAX_DELAY_MS): number {
  // 2^31 ms is already weeks: stop growing the exponent long before floats get silly
  return Math.min(baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 31), capMs)
}

/**
 * What to do after a failed attempt. On-Prem with callback_persist retries forever; every
 * other case retries within `webhooks.max_retry_ms` of `since` (the last retry lands exactly
 * on the deadline) and is then dead-lettered, never silently dropped.
 */
export function nextRetry(input: RetryInput): RetryDecision {
  const { settings, attempts, now, since } = input
  const onPrem = settings.webhooks.format === 'onprem'
  const delay = onPrem
    ? linearDelay(attempts, Number(settings.callback_backoff_delay_ms), Number(settings.max_callback_backoff_delay_ms))
    : exponentialDelay(attempts)
  if (onPrem && settings.callback_persist) return { kind: 'retry', at: now + delay }
  const deadline = since + settings.webhooks.max_retry_ms
  if (now >= deadline) return { kind: 'dead' }
  return { kind: 'retry', at: Math.min(now + delay, deadline) }
}
