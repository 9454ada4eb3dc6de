import type { ColumnDefinitionBuilder, Kysely } from 'kysely'
import type { Dialect } from '../database.js'
import { columnTypes } from './column-types.js'

// Frozen: never edit a released migration; add a new one instead.
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const t = columnTypes(dialect)
  const serial = (c: ColumnDefinitionBuilder) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey())

  // The business's own Signal identity, one per number, shared by every CoreApp process.
  await db.schema.createTable('signal_accounts')
    .addColumn('phone_number_id', 'text', (c) => c.primaryKey().references('phone_numbers.id').onDelete('cascade'))
    // IdentityKeyPair.serialize(), sealed: the private key never rests in clear
    .addColumn('identity_key_pair', t.blob, (c) => c.notNull())
    .addColumn('registration_id', 'integer', (c) => c.notNull())
    .addColumn('next_key_id', 'integer', (c) => c.notNull())
    .addColumn('updated_at', t.time, (c) => c.notNull())
    .execute()

  // Private halves of pre-keys (kind: pre | signed | kyber), sealed.
  await db.schema.createTable('signal_keys')
    .addColumn('phone_number_id', 'text', (c) => c.notNull().references('phone_numbers.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('key_id', 'integer', (c) => c.notNull())
    .addColumn('record', t.blob, (c) => c.notNull())
    .addColumn('last_resort', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', t.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('signal_keys_pk', ['phone_number_id', 'kind', 'key_id'])
    .execute()

  // Double Ratchet state per remote (address = the remote's wa_id), sealed.
  await db.schema.createTable('signal_sessions')
    .addColumn('phone_number_id', 'text', (c) => c.notNull().references('phone_numbers.id').onDelete('cascade'))
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('record', t.blob, (c) => c.notNull())
    .addColumn('updated_at', t.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('signal_sessions_pk', ['phone_number_id', 'address'])
    .execute()

  // Identity keys of remotes (public data), trust on first use.
  await db.schema.createTable('signal_remote_identities')
    .addColumn('phone_number_id', 'text', (c) => c.notNull().references('phone_numbers.id').onDelete('cascade'))
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('public_key', t.blob, (c) => c.notNull())
    .addColumn('first_seen_at', t.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('signal_remote_identities_pk', ['phone_number_id', 'address'])
    .execute()

  // Ciphertext of an outbound message, written with its session record before it goes out;
  // a message with a row here is resent byte for byte, never re-encrypted. Deleted once sent.
  await db.schema.createTable('outbound_envelopes')
    .addColumn('message_id', 'text', (c) => c.primaryKey())
    .addColumn('phone_number_id', 'text', (c) => c.notNull().references('phone_numbers.id').onDelete('cascade'))
    .addColumn('peer', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('body', t.blob, (c) => c.notNull())
    .addColumn('category', 'text')
    .addColumn('business_initiated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute()

  // Inbound envelopes already persisted: a redelivery is acked, not decrypted again.
  await db.schema.createTable('inbound_envelopes')
    .addColumn('phone_number_id', 'text', (c) => c.notNull().references('phone_numbers.id').onDelete('cascade'))
    .addColumn('envelope_id', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('peer', 'text', (c) => c.notNull())
    .addColumn('received_at', t.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('inbound_envelopes_pk', ['phone_number_id', 'envelope_id'])
    .execute()
  await db.schema.createIndex('inbound_envelopes_message').on('inbound_envelopes').columns(['message_id']).execute()

  // One owner per (number, shard); a lease not renewed by expires_at may be taken over.
  await db.schema.createTable('shard_leases')
    .addColumn('phone_number_id', 'text', (c) => c.notNull().references('phone_numbers.id').onDelete('cascade'))
    .addColumn('shard', 'integer', (c) => c.notNull())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('expires_at', t.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('shard_leases_pk', ['phone_number_id', 'shard'])
    .execute()

  // Receipts (delivered / read) owed to phones, sent by the shard owner.
  await db.schema.createTable('receipt_outbox')
    .addColumn('seq', t.serial, serial)
    .addColumn('phone_number_id', 'text', (c) => c.notNull().references('phone_numbers.id').onDelete('cascade'))
    .addColumn('peer', 'text', (c) => c.notNull())
    .addColumn('shard', 'integer', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('envelope_id', 'text', (c) => c.notNull())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('receipt_outbox_shard').on('receipt_outbox').columns(['phone_number_id', 'shard', 'seq']).execute()

  // Contact checks answered `processing` (no_wait); results arrive as a `contacts` callback.
  await db.schema.createTable('contact_check_jobs')
    .addColumn('seq', t.serial, serial)
    .addColumn('phone_number_id', 'text', (c) => c.notNull().references('phone_numbers.id').onDelete('cascade'))
    .addColumn('inputs', 'text', (c) => c.notNull())
    .addColumn('force_check', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute()

  // 24-hour conversations (conversation-based pricing), per user and category.
  await db.schema.createTable('conversations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('phone_number_id', 'text', (c) => c.notNull().references('phone_numbers.id').onDelete('cascade'))
    .addColumn('wa_id', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('opened_at', t.time, (c) => c.notNull())
    .addColumn('expires_at', t.time, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('conversations_open').on('conversations').columns(['phone_number_id', 'wa_id', 'category', 'expires_at']).execute()
}
