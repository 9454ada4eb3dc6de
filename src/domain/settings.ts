/** Per-number application settings, the On-Prem `/v1/settings/application` shape. */
export interface ApplicationSettings {
  callback_backoff_delay_ms: number
  callback_persist: boolean
  db_garbagecollector_enable: boolean
  /** Days message content, media and callback payloads are kept (domain/retention.ts); absent = the default. */
  retention_days?: number
  heartbeat_interval: number
  max_callback_backoff_delay_ms: number
  media: { auto_download: MediaKind[] }
  notify_user_change_number: boolean
  pass_through: boolean
  sent_status: boolean
  show_security_notifications: boolean
  unhealthy_interval: number
  webhooks: {
    url: string | null
    max_concurrent_requests: 6 | 12 | 18 | 24
    /** Extra headers sent with every callback (360dialog `/v1/configs/webhook`). */
    headers: Record<string, string>
    /** onprem: top-level contacts/messages/statuses; cloud: object/entry/changes. */
    format: 'onprem' | 'cloud'
    /** Most events per POST; null = the format's default (see eventsPerPost). */
    batch_size: number | null
    /** Cloud-format retries stop (dead letter) after this many ms. */
    max_retry_ms: number
  }
}

export type MediaKind = 'audio' | 'document' | 'voice' | 'video' | 'image' | 'sticker'

const defaults: ApplicationSettings = {
  callback_backoff_delay_ms: 3000,
  callback_persist: true,
  db_garbagecollector_enable: false,
  heartbeat_interval: 5,
  max_callback_backoff_delay_ms: 900_000,
  media: { auto_download: ['image', 'video', 'voice', 'sticker', 'audio', 'document'] },
  notify_user_change_number: true,
  pass_through: false,
  sent_status: false,
  show_security_notifications: false,
  unhealthy_interval: 30,
  webhooks: { url: null, max_concurrent_requests: 6, headers: {}, format: 'onprem', batch_size: null, max_retry_ms: 7 * 24 * 3600 * 1000 },
}

export const DEFAULT_SETTINGS: Readonly<ApplicationSettings> = Object.freeze(defaults)

/** Deep-merges a stored (possibly partial, possibly older) settings object over the defaults. */
export function withDefaults(stored: Partial<ApplicationSettings> | undefined): ApplicationSettings {
  return {
    ...DEFAULT_SETTINGS,
    ...stored,
    media: { ...DEFAULT_SETTINGS.media, ...stored?.media },
    webhooks: { ...DEFAULT_SETTINGS.webhooks, ...stored?.webhooks },
  }
}

/**
 * Whether a number's webhooks carry `sent` statuses (`platformType` as domain/hosting.ts names
 * it): an On-Prem number's when its sent_status setting is on (off by default, as On-Prem); a
 * Cloud-hosted number's always, as the Cloud API has no such setting.
 */
export function sendsSentStatus(platformType: string, settings: Pick<ApplicationSettings, 'sent_status'>): boolean {
  return platformType === 'CLOUD_API' || settings.sent_status
}

/** On-Prem callbacks carry arrays and are batched under backlog; SDKs of the Cloud format read only the first event. */
export const DEFAULT_EVENTS_PER_POST = { onprem: 50, cloud: 1 } as const

/** The most events one webhook POST of this number carries. */
export function eventsPerPost(webhooks: ApplicationSettings['webhooks']): number {
  const configured = webhooks.batch_size === null ? NaN : Math.trunc(webhooks.batch_size)
  return configured >= 1 ? configured : DEFAULT_EVENTS_PER_POST[webhooks.format]
}
