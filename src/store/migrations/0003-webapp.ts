import type { Kysely } from 'kysely'
import type { Dialect } from '../database.js'
import { columnTypes } from './column-types.js'

// Frozen: never edit a released migration; add a new one instead.
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const t = columnTypes(dialect)

  // A user may be bound to one number; unbound users act on the deployment's default number.
  await db.schema.alterTable('users')
    .addColumn('phone_number_id', 'text', (c) => c.references('phone_numbers.id').onDelete('set null'))
    .execute()
  await db.schema.createIndex('tokens_username').on('tokens').column('username').execute()
  await db.schema.createIndex('api_keys_number').on('api_keys').column('phone_number_id').execute()
  await db.schema.createIndex('media_number').on('media').columns(['phone_number_id', 'created_at']).execute()

  // What the On-Prem settings endpoints keep besides the application settings.
  await db.schema.createTable('number_profiles')
    .addColumn('phone_number_id', 'text', (c) => c.primaryKey().references('phone_numbers.id').onDelete('cascade'))
    .addColumn('about', 'text')
    .addColumn('photo_media_id', 'text')
    .addColumn('business_profile', 'text')
    // provider credentials (bearer tokens, passwords), sealed JSON
    .addColumn('media_providers', t.blob)
    .addColumn('updated_at', t.time, (c) => c.notNull())
    .execute()
}
