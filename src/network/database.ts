import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { Kysely, Migrator, SqliteDialect } from 'kysely'
import { withStatementCache } from '../sqlite-statements.js'
import { networkMigrations } from './migrations.js'
import type { NetworkDatabase } from './schema.js'

export type NetworkDb = Kysely<NetworkDatabase>

/**
 * Opens (and migrates) `network.sqlite` in the data directory.
 *
 * WAL with synchronous=FULL: every commit is fsynced. With NORMAL a power cut could lose the
 * last commits, and those envelopes were already acked as `sent` (the CoreApp never resends
 * them). The group commit in write-batcher.ts pays one fsync per batch, which keeps FULL fast.
 */
export async function openNetworkDatabase(dataDir: string): Promise<NetworkDb> {
  const file = path.join(dataDir, 'network.sqlite')
  // Created owner-only; SQLite gives the -wal and -shm files the same mode.
  fs.closeSync(fs.openSync(file, 'a', 0o600))
  const sqlite = new Database(file)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = FULL')
  sqlite.pragma('busy_timeout = 5000')
  const db = new Kysely<NetworkDatabase>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) })
  const { error, results } = await new Migrator({
    db,
    provider: networkMigrations,
    migrationTableName: 'network_migration',
    migrationLockTableName: 'network_migration_lock',
  }).migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error || failed) {
    await db.destroy()
    throw new Error(`network database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`)
  }
  return db
}

