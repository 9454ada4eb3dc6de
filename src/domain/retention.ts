import type { PlatformType } from './hosting.js'

/** How long message content, media and callback payloads are kept unless a number says otherwise. */
export const DEFAULT_RETENTION_DAYS = 30
/** Cloud-hosted numbers promise at most 30 days of content at rest. */
export const CLOUD_MAX_RETENTION_DAYS = 30
const DAY_MS = 24 * 60 * 60 * 1000

/** Why a retention setting is refused for a number of this platform, or undefined when it is accepted. */
export function retentionProblem(days: unknown, platform: PlatformType): string | undefined {
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1) return 'retention_days must be a whole number of days, at least 1'
  if (platform === 'CLOUD_API' && days > CLOUD_MAX_RETENTION_DAYS) return `retention_days may be at most ${CLOUD_MAX_RETENTION_DAYS} for a Cloud-hosted number`
  return undefined
}

/** The number's retention in ms: its setting, capped for Cloud-hosted numbers (a value stored before the cap counts as the cap). */
export function retentionMs(days: number | undefined, platform: PlatformType): number {
  const chosen = days ?? DEFAULT_RETENTION_DAYS
  return (platform === 'CLOUD_API' ? Math.min(chosen, CLOUD_MAX_RETENTION_DAYS) : chosen) * DAY_MS
}
