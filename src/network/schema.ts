import type { Generated } from 'kysely'

/** Row types of the network's own SQLite database (see migrations.ts). Times are epoch ms. */
export interface NetworkDatabase {
  accounts: AccountsTable
  registration_codes: RegistrationCodesTable
  identity_keys: IdentityKeysTable
  one_time_pre_keys: OneTimePreKeysTable
  kyber_pre_keys: KyberPreKeysTable
  inbox: InboxTable
  sent_envelopes: SentEnvelopesTable
  blobs: BlobsTable
  templates: TemplatesTable
  blocks: BlocksTable
  feedback: FeedbackTable
  initiated_users: InitiatedUsersTable
  conversations: ConversationsTable
  portfolios: PortfoliosTable
  waba_members: WabaMembersTable
}

/** A business number's portfolio (0003): the numbers of one portfolio share a messaging limit. */
export interface PortfoliosTable {
  wa_id: string
  portfolio: string
}

/** A business number's WABA (0004): the numbers of one WABA share its templates. */
export interface WabaMembersTable {
  wa_id: string
  waba: string
}

export interface AccountsTable {
  wa_id: string
  cc: string
  phone: string
  /** 1 when registered with a vname certificate. */
  business: number
  vname: string | null
  /** sha256 of the server-generated password (high-entropy token, so no slow hash needed). */
  password_hash: string
  /** scrypt of the two-step PIN (6 digits: low entropy, so a slow hash). */
  pin_hash: string | null
  template_namespace: string | null
  /** Messaging-limit tier; null = the profile's initial tier. */
  tier: string | null
  registered_at: number
}

export interface RegistrationCodesTable {
  wa_id: string
  cc: string
  phone: string
  code: string
  vname: string | null
  issued_at: number
  used_at: number | null
}

export interface IdentityKeysTable {
  wa_id: string
  registration_id: number
  identity_key: Uint8Array
  signed_pre_key_id: number
  signed_pre_key: Uint8Array
  signed_pre_key_signature: Uint8Array
  kyber_pre_key_id: number
  kyber_pre_key: Uint8Array
  kyber_pre_key_signature: Uint8Array
}

export interface OneTimePreKeysTable {
  wa_id: string
  key_id: number
  public_key: Uint8Array
}

export interface KyberPreKeysTable {
  wa_id: string
  key_id: number
  public_key: Uint8Array
  signature: Uint8Array
}

export type InboxItemType = 'envelope' | 'receipt' | 'failed' | 'update'

/** Everything waiting for a device: envelopes, receipts and failure notices, in `seq` order. */
export interface InboxTable {
  seq: Generated<number>
  recipient: string
  /** fnv1a32 of the counterparty; `route_hash % shards` picks the recipient's shard. */
  route_hash: number
  type: InboxItemType
  /** Envelope id, receipt id, or (failed) the failed envelope's id. */
  item_id: string
  /** Envelope/receipt sender; for 'failed', the envelope's addressee; for 'update', the recipient itself. */
  sender: string
  /** Envelope kind, receipt kind, (failed) the error code, or (update) the webhook field. */
  kind: string
  /** Envelope ciphertext; for receipts, the msgpack list of envelope ids; for updates, the msgpack value. */
  body: Uint8Array | null
  created_at: number
}

/** Envelope ids already accepted, per sender: duplicate detection and retry answers. */
export interface SentEnvelopesTable {
  sender: string
  envelope_id: string
  request_id: string
  server_ts: number
}

export interface BlobsTable {
  id: string
  owner: string
  size: number
  created_at: number
  expires_at: number
}

export interface TemplatesTable {
  id: string
  /** The number it was made through (its status updates go there). */
  wa_id: string
  /** The WABA it belongs to (0004); null: made before WABAs were kept, the WABA of `wa_id`. */
  waba: string | null
  name: string
  language: string
  category: string
  /** JSON array of TemplateComponentWire. */
  components: string
  status: string
  reason: string | null
  created_at: number
  updated_at: number
  /** POSITIONAL or NAMED; null for templates stored before it was kept (positional). */
  parameter_format: string | null
  /** GREEN | YELLOW | RED; null = UNKNOWN. */
  quality: string | null
  /** Quality pauses so far (the third disables it). */
  pauses: Generated<number>
  /** A quality pause ends at this time. */
  paused_until: number | null
  /** A PENDING template is decided at this time; null = it waits for an operator. */
  review_at: number | null
  /** Last edit by the business (an approved template may be edited once a day). */
  edited_at: number | null
}

export interface BlocksTable {
  business: string
  user: string
  created_at: number
}

export interface FeedbackTable {
  id: Generated<number>
  business: string
  user: string
  kind: string
  at: number
}

export interface InitiatedUsersTable {
  business: string
  user: string
  last_at: number
}

export interface ConversationsTable {
  id: Generated<number>
  business: string
  user: string
  category: string
  opened_at: number
}
