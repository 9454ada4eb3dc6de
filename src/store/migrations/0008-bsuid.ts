import type { Kysely } from 'kysely'
import type { Dialect } from '../database.js'

// Frozen: never edit a released migration; add a new one instead.
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  // The user's business-scoped user id (BSUID) towards this number, as the network gave it:
  // Cloud callbacks show it, and a send addressed to it finds the user here first.
  await db.schema.alterTable('contacts').addColumn('user_id', 'text').execute()
  await db.schema.createIndex('contacts_user_id').on('contacts').columns(['phone_number_id', 'user_id']).execute()
}
