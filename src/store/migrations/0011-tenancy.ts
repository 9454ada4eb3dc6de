import type { Kysely } from 'kysely'
import type { Dialect } from '../database.js'
import { columnTypes } from './column-types.js'

// Frozen: never edit a released migration; add a new one instead.
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const t = columnTypes(dialect)
  // The BSP hub: a partner (the hosting business) owns clients, a client owns WABAs, a WABA its numbers.
  await db.schema.createTable('partners')
    .addColumn('id', t.key, (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute()
  // A partner's key pairs: `key_id` is public, only the secret's sha256 is kept. A rotation adds a
  // row with the same key_id and gives the old one an `expires_at` (its grace period).
  await db.schema.createTable('partner_keys')
    .addColumn('secret_hash', t.key, (c) => c.primaryKey())
    .addColumn('key_id', t.key, (c) => c.notNull())
    .addColumn('partner_id', t.key, (c) => c.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .addColumn('expires_at', t.time)
    .addColumn('revoked_at', t.time)
    .execute()
  await db.schema.createIndex('partner_keys_key_id').on('partner_keys').column('key_id').execute()
  await db.schema.createTable('clients')
    .addColumn('id', t.key, (c) => c.primaryKey())
    .addColumn('partner_id', t.key, (c) => c.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    // active | suspended: a suspended client's keys and tokens are refused, its queue kept
    .addColumn('status', t.key, (c) => c.notNull().defaultTo('active'))
    // request ceiling over all of the client's credentials; null = none
    .addColumn('requests_per_second', 'integer')
    .addColumn('burst', 'integer')
    .addColumn('created_at', t.time, (c) => c.notNull())
    .addColumn('updated_at', t.time, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('clients_partner').on('clients').columns(['partner_id', 'created_at']).execute()
  await db.schema.alterTable('wabas')
    .addColumn('client_id', t.key, (c) => c.references('clients.id').onDelete('set null')).execute()
  // where the WABA's content is kept at rest (data residency); null = the home store
  await db.schema.alterTable('wabas').addColumn('data_localization_region', 'text').execute()
  await db.schema.createIndex('wabas_client').on('wabas').column('client_id').execute()
  // Append-only: who (a credential id, never a secret) did what to which object, when, from where.
  await db.schema.createTable('audit_log')
    .addColumn('seq', t.serial, (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
    .addColumn('partner_id', t.key, (c) => c.notNull())
    .addColumn('client_id', t.key)
    .addColumn('credential_id', 'text', (c) => c.notNull())
    .addColumn('action', t.key, (c) => c.notNull())
    .addColumn('object_type', t.key, (c) => c.notNull())
    .addColumn('object_id', t.key, (c) => c.notNull())
    .addColumn('source_ip', 'text')
    .addColumn('detail', 'text')
    .addColumn('at', t.time, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('audit_log_partner').on('audit_log').columns(['partner_id', 'seq']).execute()
}
