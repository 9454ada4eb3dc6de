import type { Generated, Selectable } from 'kysely'

/** Tables of migration 0004-coreapp (the message engine). Timestamps are integer ms. */
export interface SignalAccountTable {
  phone_number_id: string
  /** `IdentityKeyPair.serialize()`, sealed. */
  identity_key_pair: Buffer
  registration_id: number
  next_key_id: number
  updated_at: number
}

export interface SignalKeyTable {
  phone_number_id: string
  /** pre | signed | kyber */
  kind: string
  key_id: number
  /** Serialized libsignal record, sealed. */
  record: Buffer
  last_resort: number
  created_at: number
}

export interface SignalSessionTable {
  phone_number_id: string
  address: string
  /** `SessionRecord.serialize()`, sealed. */
  record: Buffer
  updated_at: number
}

export interface SignalRemoteIdentityTable {
  phone_number_id: string
  address: string
  public_key: Buffer
  first_seen_at: number
}

export interface OutboundEnvelopeTable {
  message_id: string
  phone_number_id: string
  peer: string
  /** prekey | message */
  kind: string
  /** Signal ciphertext (already end-to-end encrypted). */
  body: Buffer
  category: string | null
  business_initiated: number
  created_at: number
}

export interface InboundEnvelopeTable {
  phone_number_id: string
  envelope_id: string
  message_id: string
  peer: string
  received_at: number
}

export interface ShardLeaseTable {
  phone_number_id: string
  shard: number
  owner: string
  expires_at: number
}

export interface ReceiptOutboxTable {
  seq: Generated<number>
  phone_number_id: string
  peer: string
  shard: number
  /** delivered | read */
  kind: string
  envelope_id: string
  created_at: number
}

export interface ContactCheckJobTable {
  seq: Generated<number>
  phone_number_id: string
  /** JSON array of the raw inputs. */
  inputs: string
  force_check: number
  created_at: number
}

export interface ConversationTable {
  id: string
  phone_number_id: string
  wa_id: string
  /** marketing | utility | authentication | service */
  category: string
  opened_at: number
  expires_at: number
}

export interface CoreAppTables {
  signal_accounts: SignalAccountTable
  signal_keys: SignalKeyTable
  signal_sessions: SignalSessionTable
  signal_remote_identities: SignalRemoteIdentityTable
  outbound_envelopes: OutboundEnvelopeTable
  inbound_envelopes: InboundEnvelopeTable
  shard_leases: ShardLeaseTable
  receipt_outbox: ReceiptOutboxTable
  contact_check_jobs: ContactCheckJobTable
  conversations: ConversationTable
}

export type OutboundEnvelopeRow = Selectable<OutboundEnvelopeTable>
export type ConversationRow = Selectable<ConversationTable>
export type ShardLeaseRow = Selectable<ShardLeaseTable>
