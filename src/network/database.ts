import path from 'node:path'
import { Kysely, Migrator, type SqliteDatabase } from 'kysely'
import { WaboxSqliteDialect } from '../sqlite-dialect.js'
import { openSqlite } from '../sqlite.js'
import { networkMigrations } from './migrations.js'
import type { NetworkDatabase } from './schema.js'

export type NetworkDb = Kysely<NetworkDatabase>
/** The same connection without the query builder: statements of a hot path, prepared once (cached by their text). */
export type RawSqlite = Pick<SqliteDatabase, 'prepare'>

/**
 * Opens (and migrates) `network.sqlite` in the data directory.
 *
 * With `fsync` (the default) every commit is fsynced (synchronous=FULL): with NORMAL a power
 * cut could lose the last commits, and those envelopes were already acked as `sent` (the
 * CoreApp never resends them). The group commit in write-batcher.ts pays one fsync per batch.
 * Without it a killed process still loses nothing; load tests use that.
 */
export async function openNetworkDatabase(dataDir: string, opts: { fsync?: boolean } = {}): Promise<{ db: NetworkDb; raw: RawSqlite; close(): Promise<void> }> {
  // openSqlite creates it (and its -wal and -shm) owner-only
  const file = path.join(dataDir, 'network.sqlite')
  const database = openSqlite(file, { synchronous: opts.fsync === false ? 'NORMAL' : 'FULL' })
  const db = new Kysely<NetworkDatabase>({ dialect: new WaboxSqliteDialect({ database }) })
  const close = async () => {
    await db.destroy()
    await database.stopped()
  }
  const { error, results } = await new Migrator({
    db,
    provider: networkMigrations,
    migrationTableName: 'network_migration',
    migrationLockTableName: 'network_migration_lock',
  }).migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error || failed) {
    await close()
    throw new Error(`network database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`)
  }
  return { db, raw: database, close }
}

