import type { Generated, Insertable, Selectable } from 'kysely'
import type { CloudTables } from './cloud-schema.js'
import type { ClusterTables } from './cluster-schema.js'
import type { CoreAppTables } from './coreapp-schema.js'
import type { NumberManagementTables } from './number-management-schema.js'
import type { TenancyTables } from './tenancy-schema.js'

/** Timestamps are integer milliseconds since the epoch; booleans are 0/1 on both engines. */
export interface PhoneNumberTable {
  id: string
  cc: string
  number: string
  wa_id: string
  display_name: string
  /** unregistered | pending (code requested) | registered */
  status: string
  /** connected | connecting | disconnected | unregistered | uninitialized (for /v1/health) */
  gateway_status: string
  /** Application settings as JSON (On-Prem `/v1/settings/application` shape). */
  settings: string
  shard_count: number
  /** vname certificate as issued by the network (base64). */
  cert: string | null
  /** Network account password, sealed. */
  network_secret: Buffer | null
  /** Two-step PIN (scrypt hash). */
  pin_hash: string | null
  /** Per-number secret for X-Hub-Signature-256, sealed. */
  webhook_secret: Buffer | null
  /** Uploaded CA (PEM) trusted for this number's webhook endpoint (0002); public, not sealed. */
  webhook_ca: string | null
  /** The WhatsApp Business Account the number belongs to (0007); null for a number outside any. */
  waba_id: string | null
  /** ON_PREMISE (the default) | CLOUD_API (0007): its dialects and the shape of its callbacks. */
  platform_type: Generated<string>
  /** Phone-number override of the Cloud webhook `{url, verifyToken}`, sealed JSON (0007). */
  webhook_override: Buffer | null
  created_at: number
  updated_at: number
}

export interface UserTable {
  username: string
  password_hash: string
  role: string
  /** 0 until the default password was changed. */
  password_changed: number
  created_at: number
  /** Number the user acts on; null = the deployment's default number (0003). */
  phone_number_id: string | null
}

export interface TokenTable {
  token_hash: string
  username: string
  expires_at: number
  created_at: number
}

export interface ApiKeyTable {
  key_hash: string
  phone_number_id: string
  /** d360 (restricted BSP key) | admin (every endpoint of its number) | monitoring */
  scope: string
  label: string
  created_at: number
  revoked_at: number | null
}

export interface MessageTable {
  seq: Generated<number>
  id: string
  phone_number_id: string
  /** out | in */
  direction: string
  /** The other party's wa_id. */
  peer: string
  type: string
  /** The message body, sealed (AES-256-GCM) JSON. */
  content: Buffer
  /** queued | sent | delivered | read | failed | received | deleted */
  status: string
  shard: number
  /** JSON array of webhook error objects when failed. */
  error: string | null
  category: string | null
  conversation_id: string | null
  /** TTL: after this instant an unsent message fails with 410. */
  expires_at: number | null
  created_at: number
  updated_at: number
  /** Sealed JSON holding `biz_opaque_callback_data` and the addressed `recipient` (BSUID) for status callbacks; null when there is neither. */
  callback_data: Buffer | null
}

export interface MessageStatusTable {
  message_id: string
  status: string
  at: number
  error: string | null
}

export interface ContactTable {
  phone_number_id: string
  wa_id: string
  profile_name: string | null
  /** Last inbound message: opens the 24-hour customer-service window. */
  last_inbound_at: number | null
  /** valid | invalid (contacts check cache) */
  check_status: string | null
  checked_at: number | null
  identity_hash: string | null
  identity_at: number | null
  identity_acknowledged: number
  /** The user's business-scoped user id (BSUID) towards this number; null until the network named it. */
  user_id: string | null
}

export interface MediaTable {
  id: string
  phone_number_id: string
  mime_type: string
  size: number
  sha256: string
  filename: string | null
  /** out (uploaded by the business) | in (downloaded from a user) */
  direction: string
  /** Path of the sealed file, relative to the media volume. */
  file: string
  created_at: number
  expires_at: number | null
}

export interface CallbackTable {
  seq: Generated<number>
  phone_number_id: string
  /** message | status | contacts | error */
  event_type: string
  /** The event as sealed JSON; rendered in the number's webhook format at delivery time. */
  payload: Buffer
  /** pending | done | dead */
  status: string
  attempts: number
  /** Due time; while claimed, the lease end (so an abandoned claim becomes due again). */
  next_attempt_at: number
  created_at: number
  delivered_at: number | null
  last_error: string | null
  /** Lease end of the dispatcher holding the row; null when not in flight. */
  claimed_until: Generated<number | null>
  claimed_by: Generated<string | null>
  dead_at: Generated<number | null>
  /** Start of the current retry window (null = created_at); replay opens a new one. */
  retry_since: Generated<number | null>
}

export interface CallbackAttemptTable {
  seq: Generated<number>
  callback_seq: number
  phone_number_id: string
  at: number
  http_status: number | null
  latency_ms: number
  error: string | null
}

/** Profile, business profile and media providers of a number (0003). */
export interface NumberProfileTable {
  phone_number_id: string
  about: string | null
  /** Media id (in `media`) of the profile photo. */
  photo_media_id: string | null
  /** Business profile as JSON. */
  business_profile: string | null
  /** Media providers as sealed JSON (they hold credentials). */
  media_providers: Buffer | null
  updated_at: number
}

/** The CoreApp's tables (migration 0004) live in coreapp-schema.ts, the Cloud accounts' (0007) in cloud-schema.ts. */
export interface DB extends CoreAppTables, CloudTables, NumberManagementTables, ClusterTables, TenancyTables {
  phone_numbers: PhoneNumberTable
  users: UserTable
  tokens: TokenTable
  api_keys: ApiKeyTable
  messages: MessageTable
  message_statuses: MessageStatusTable
  contacts: ContactTable
  media: MediaTable
  callbacks: CallbackTable
  callback_attempts: CallbackAttemptTable
  number_profiles: NumberProfileTable
}

/** webhook_ca (added by 0002) is optional here so rows built by hand before it existed stay valid. */
export type PhoneNumberRow = Omit<Selectable<PhoneNumberTable>, 'webhook_ca'> & { webhook_ca?: string | null }
export type MessageRow = Selectable<MessageTable>
export type NewMessage = Insertable<MessageTable>
export type CallbackRow = Selectable<CallbackTable>
export type UserRow = Selectable<UserTable>
export type ApiKeyRow = Selectable<ApiKeyTable>
export type MediaRow = Selectable<MediaTable>
export type ContactRow = Selectable<ContactTable>
export type NumberProfileRow = Selectable<NumberProfileTable>
