import type { CallbackEvent } from './events.js'

/**
 * Webhook fields of Meta's `whatsapp_business_account` object (research/cloud-2026.md §1.11).
 * `messages` carries inbound messages, statuses and errors; most others are account-level.
 */
export const WEBHOOK_FIELDS = [
  'messages',
  'account_alerts',
  'account_review_update',
  'account_update',
  'business_capability_update',
  'calls',
  'flows',
  'group_lifecycle_update',
  'group_participants_update',
  'group_settings_update',
  'group_status_update',
  'history',
  'message_template_components_update',
  'message_template_quality_update',
  'message_template_status_update',
  'phone_number_name_update',
  'phone_number_quality_update',
  'security',
  'smb_app_state_sync',
  'smb_message_echoes',
  'template_category_update',
  'user_id_update',
  'user_preferences',
] as const

export type WebhookField = (typeof WEBHOOK_FIELDS)[number]

export function isWebhookField(value: unknown): value is WebhookField {
  return typeof value === 'string' && (WEBHOOK_FIELDS as readonly string[]).includes(value)
}

/** A callback URL and the verify token its GET handshake was accepted with. */
export interface WebhookEndpoint {
  url: string
  verifyToken: string
}

/** The app-level subscription: the app's callback and the fields it subscribed to. */
export interface AppSubscription extends WebhookEndpoint {
  fields: readonly string[]
}

/** Everything that can decide where a Cloud-hosted number's notification goes. */
export interface WebhookRoutes {
  /** `POST /{app_id}/subscriptions` of the app serving the number's WABA. */
  app: AppSubscription | null
  /** `POST /{waba_id}/subscribed_apps {override_callback_uri}`. */
  waba: WebhookEndpoint | null
  /** `POST /{phone_number_id} {webhook_configuration:{override_callback_uri}}`. */
  phone: WebhookEndpoint | null
  /** The number's `/v1/configs/webhook` URL (360dialog's path for both platforms). */
  numberSetting: string | null
}

export type WebhookTargetLevel = 'phone' | 'waba' | 'app' | 'number_setting'

export interface WebhookTarget {
  level: WebhookTargetLevel
  url: string
}

/**
 * Where a notification of `field` goes, or undefined when nowhere (it waits in the queue):
 * - `messages`: the phone-number override, else the WABA override, else the app subscription;
 * - any other field: the WABA override, else the app subscription, never a phone override
 *   (Meta sends account-level notifications per WABA);
 * - an app subscription decides which fields are sent at all (overrides only move them), so
 *   a field it does not list goes nowhere; without one, overrides take every field;
 * - with no subscription at any level, the number's own webhook URL setting, as before Cloud
 *   subscriptions existed.
 */
export function resolveWebhookTarget(field: string, routes: WebhookRoutes): WebhookTarget | undefined {
  const { app, waba, phone, numberSetting } = routes
  if (!app && !waba && !phone) return numberSetting ? { level: 'number_setting', url: numberSetting } : undefined
  if (app && !app.fields.includes(field)) return undefined
  if (field === 'messages' && phone) return { level: 'phone', url: phone.url }
  if (waba) return { level: 'waba', url: waba.url }
  if (app) return { level: 'app', url: app.url }
  return undefined
}

/** The field a queued callback event is notified under: an account update names its own, the rest are `messages`. */
export function webhookFieldOf(event: CallbackEvent): WebhookField {
  switch (event.type) {
    case 'message':
    case 'status':
    case 'contacts':
    case 'error':
      return 'messages'
    case 'account_update':
      return isWebhookField(event.field) ? event.field : 'account_update'
  }
}
