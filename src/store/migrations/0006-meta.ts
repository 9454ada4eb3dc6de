import type { Kysely } from 'kysely'
import type { Dialect } from '../database.js'
import { columnTypes } from './column-types.js'

// Frozen: never edit a released migration; add a new one instead.
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  // Facts about the deployment as a whole, one row each: first the at-rest key check value
  // (store/at-rest-check.ts), so a wrong master key is refused at startup.
  await db.schema.createTable('meta')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', columnTypes(dialect).blob, (c) => c.notNull())
    .execute()
}
