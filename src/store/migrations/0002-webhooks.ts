import type { Kysely } from 'kysely'
import type { Dialect } from '../database.js'
import { columnTypes } from './column-types.js'

// Frozen: never edit a released migration; add a new one instead.
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const t = columnTypes(dialect)

  // A claim is a lease: while claimed_until is in the future the row is in flight; a crashed
  // dispatcher's claims come back by themselves when it passes.
  await db.schema.alterTable('callbacks').addColumn('claimed_until', t.time).execute()
  // Who holds the lease: a stale dispatcher must not reschedule a row another one re-claimed.
  await db.schema.alterTable('callbacks').addColumn('claimed_by', 'text').execute()
  await db.schema.alterTable('callbacks').addColumn('dead_at', t.time).execute()
  // Start of the current retry window (null = created_at); a replay opens a new window.
  await db.schema.alterTable('callbacks').addColumn('retry_since', t.time).execute()
  // Claims walk this index per number: status = pending, due first.
  await db.schema.createIndex('callbacks_claim').on('callbacks')
    .columns(['phone_number_id', 'status', 'next_attempt_at', 'seq']).execute()

  // Uploaded CA (PEM) trusted for this number's webhook endpoint; public data, not sealed.
  await db.schema.alterTable('phone_numbers').addColumn('webhook_ca', 'text').execute()
}
