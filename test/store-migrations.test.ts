import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { applyStatuses } from '../src/coreapp/statuses.js'
import type { StatusEvent } from '../src/domain/events.js'
import type { Database } from '../src/store/database.js'
import { MIGRATION_NAMES, migrate } from '../src/store/migrate.js'
import { createTestDatabase, DIALECTS } from './helpers/databases.js'

async function schemaOf(database: Database): Promise<unknown[]> {
  if (database.dialect === 'sqlite') {
    const rows = await sql<{ type: string; name: string; sql: string | null }>`
      select type, name, sql from sqlite_master where name not like 'kysely_%' and name not like 'sqlite_%' order by type, name`.execute(database.db)
    return rows.rows
  }
  if (database.dialect === 'mysql') {
    const tables = sql`table_schema = database() and table_name not like 'kysely_%'`
    const columns = await sql`
      select table_name, column_name, column_type, is_nullable, column_default, collation_name from information_schema.columns
      where ${tables} order by table_name, column_name`.execute(database.db)
    const indexes = await sql`
      select table_name, index_name, seq_in_index, column_name, non_unique from information_schema.statistics
      where ${tables} order by table_name, index_name, seq_in_index`.execute(database.db)
    const foreignKeys = await sql`
      select table_name, constraint_name, referenced_table_name, delete_rule from information_schema.referential_constraints
      where constraint_schema = database() order by table_name, constraint_name`.execute(database.db)
    return [columns.rows, indexes.rows, foreignKeys.rows]
  }
  const columns = await sql`
    select table_name, column_name, data_type, is_nullable, column_default from information_schema.columns
    where table_schema = current_schema() and table_name not like 'kysely_%' order by table_name, column_name`.execute(database.db)
  const indexes = await sql`
    select indexname, indexdef from pg_indexes where schemaname = current_schema() and tablename not like 'kysely_%' order by indexname`.execute(database.db)
  const constraints = await sql`
    select conname, pg_get_constraintdef(oid) as def from pg_constraint
    where connamespace = current_schema()::regnamespace order by conname`.execute(database.db)
  // Sequence defaults name the (per-test) schema; compare without it.
  const schema = database.schema ?? 'public'
  return JSON.parse(JSON.stringify([columns.rows, indexes.rows, constraints.rows]).replaceAll(`${schema}.`, '')) as unknown[]
}

for (const dialect of DIALECTS) {
  describe(`migrations [${dialect}]`, () => {
    it('a fresh install and an install upgraded one step at a time have the same schema', async () => {
      const fresh = await createTestDatabase(dialect)
      const stepwise = await createTestDatabase(dialect, { migrateTo: MIGRATION_NAMES[0] })
      try {
        for (const name of MIGRATION_NAMES.slice(1)) await migrate(stepwise.database, name)
        expect(await schemaOf(stepwise.database)).toEqual(await schemaOf(fresh.database))
        expect((await schemaOf(fresh.database)).length).toBeGreaterThan(0)
      } finally {
        await fresh.cleanup()
        await stepwise.cleanup()
      }
    })

    it('a message accepted before 0005 still echoes its biz_opaque_callback_data after the upgrade', async () => {
      const t = await createTestDatabase(dialect, { migrateTo: '0004-coreapp' })
      try {
        await t.store.numbers.create({ id: 'pn-up', cc: '1', number: '5550199', displayName: 'Upgrade' })
        await t.store.numbers.saveSettings('pn-up', { sent_status: true })
        const now = t.clock.now()
        const body = (opaque?: string) => t.sealer.sealJson({ to: '15550001', type: 'text', text: { body: 'x' }, ...(opaque ? { biz_opaque_callback_data: opaque } : {}) })
        await sql`insert into messages (id, phone_number_id, direction, peer, type, content, status, shard, created_at, updated_at)
          values ('wamid.legacy', 'pn-up', 'out', '15550001', 'text', ${body('order-9')}, 'queued', 0, ${now}, ${now}),
                 ('wamid.plain', 'pn-up', 'out', '15550001', 'text', ${body()}, 'queued', 0, ${now}, ${now})`.execute(t.database.db)
        await migrate(t.database)
        await t.store.transaction((tx) => applyStatuses(tx, ['wamid.legacy', 'wamid.plain'].map((messageId) => ({ messageId, status: 'sent' as const, at: now }))))
        const rows = await t.store.ctx.db.selectFrom('callbacks').select('payload').orderBy('seq').execute()
        const statuses = rows.map((r) => t.sealer.openJson<StatusEvent>(r.payload).status)
        expect(statuses.map((s) => [s.id, s.biz_opaque_callback_data])).toEqual([['wamid.legacy', 'order-9'], ['wamid.plain', undefined]])
      } finally {
        await t.cleanup()
      }
    })

    it('running migrate again applies nothing', async () => {
      const db = await createTestDatabase(dialect)
      try {
        expect(await migrate(db.database)).toEqual([])
      } finally {
        await db.cleanup()
      }
    })
  })
}
