import type { Kysely } from 'kysely'
import type { Dialect } from '../database.js'
import { columnTypes } from './column-types.js'

// Frozen: never edit a released migration; add a new one instead.
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const t = columnTypes(dialect)
  // What the Cloud API's number management says about a number beyond its registration:
  // deregistered through the API, the quality and tier the network last reported, when it
  // moved from On-Premises to Cloud. A number without a row has none of these.
  await db.schema.createTable('number_management')
    .addColumn('phone_number_id', 'text', (c) => c.primaryKey().references('phone_numbers.id').onDelete('cascade'))
    .addColumn('deregistered_at', t.time)
    .addColumn('quality_rating', 'text')
    .addColumn('messaging_limit_tier', 'text')
    .addColumn('migrated_at', t.time)
    .addColumn('updated_at', t.time, (c) => c.notNull())
    .execute()
}
