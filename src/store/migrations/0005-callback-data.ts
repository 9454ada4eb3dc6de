import { sql, type Kysely } from 'kysely'
import type { Dialect } from '../database.js'
import { columnTypes } from './column-types.js'

// Frozen: never edit a released migration; add a new one instead.
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  // What status callbacks echo (`biz_opaque_callback_data`), sealed JSON, null when the send had
  // none: every status change used to decrypt the whole body just to look for it.
  await db.schema.alterTable('messages').addColumn('callback_data', columnTypes(dialect).blob).execute()
  // Messages that may still change status keep working: their sealed body is itself a JSON
  // object with the optional field, so it serves as their callback data.
  await sql`update messages set callback_data = content where direction = 'out' and status in ('queued', 'sent', 'delivered')`.execute(db)
}
