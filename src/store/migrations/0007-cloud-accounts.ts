import type { Kysely } from 'kysely'
import type { Dialect } from '../database.js'
import { columnTypes } from './column-types.js'

// Frozen: never edit a released migration; add a new one instead.
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const t = columnTypes(dialect)

  // Meta-style apps: the secret signs Cloud webhooks and, with the id, makes the app access
  // token `<app_id>|<app_secret>`. The app-level subscription (callback URL + verify token,
  // sealed together) and its fields (JSON array, public) live with the app.
  await db.schema.createTable('apps')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('app_secret', t.blob, (c) => c.notNull())
    .addColumn('subscription', t.blob)
    .addColumn('subscription_fields', 'text')
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute()

  // WhatsApp Business Accounts: the unit access tokens reach, served by one app.
  await db.schema.createTable('wabas')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('app_id', 'text', (c) => c.references('apps.id').onDelete('set null'))
    // `override_callback_uri` + verify token, sealed
    .addColumn('webhook_override', t.blob)
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute()

  // System-user access tokens (Authorization: Bearer), bound to a WABA; sha256 digests only.
  await db.schema.createTable('access_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('waba_id', 'text', (c) => c.notNull().references('wabas.id').onDelete('cascade'))
    // comma-separated Meta permission names
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .addColumn('revoked_at', t.time)
    .execute()
  await db.schema.createIndex('access_tokens_waba').on('access_tokens').columns(['waba_id', 'created_at']).execute()

  await db.schema.alterTable('phone_numbers')
    .addColumn('waba_id', 'text', (c) => c.references('wabas.id').onDelete('set null')).execute()
  // ON_PREMISE | CLOUD_API: which dialects serve the number and the shape of its callbacks
  await db.schema.alterTable('phone_numbers')
    .addColumn('platform_type', 'text', (c) => c.notNull().defaultTo('ON_PREMISE')).execute()
  // phone-number override of the Cloud webhook (`webhook_configuration`), sealed
  await db.schema.alterTable('phone_numbers').addColumn('webhook_override', t.blob).execute()
  await db.schema.createIndex('phone_numbers_waba').on('phone_numbers').column('waba_id').execute()
}
