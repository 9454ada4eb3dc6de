import type { Kysely } from 'kysely'
import type { Dialect } from '../database.js'

// Frozen: never edit a released migration; add a new one instead.
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  // The id of the master key each process seals with, written with its heartbeat: a master-key
  // rotation re-seals only once every live node reports the new key.
  await db.schema.alterTable('nodes').addColumn('sealing_key_id', 'text').execute()
}
