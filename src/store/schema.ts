import type { Generated, Insertable, Selectable } from 'kysely'

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
  next_attempt_at: number
  created_at: number
  delivered_at: number | null
  last_error: string | null
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

export interface DB {
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
}

export type PhoneNumberRow = Selectable<PhoneNumberTable>
export type MessageRow = Selectable<MessageTable>
export type NewMessage = Insertable<MessageTable>
export type CallbackRow = Selectable<CallbackTable>
