import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely'
import type { Database, Dialect } from './database.js'
import { withoutStatementBound } from './engines/bounds.js'
import { columnTypes } from './migrations/column-types.js'
import { migratorBase } from './migrate.js'

/*
 * Frozen migrations of a region database (data residency): its own list, apart from the home
 * store's, as the network database has. Never edit a released step; add one.
 */
const STEPS: Record<string, (db: Kysely<unknown>, dialect: Dialect) => Promise<void>> = {
  async '0001-region-content'(db, dialect) {
    const t = columnTypes(dialect)
    // content at rest of one region, sealed with the region's data key; the home row keeps `key`
    await db.schema.createTable('region_content')
      .addColumn('key', t.key, (c) => c.primaryKey())
      .addColumn('phone_number_id', t.key, (c) => c.notNull())
      // content | callback_data | callback
      .addColumn('kind', t.key, (c) => c.notNull())
      .addColumn('value', t.blob, (c) => c.notNull())
      .addColumn('created_at', t.time, (c) => c.notNull())
      .execute()
    await db.schema.createIndex('region_content_number_created').on('region_content').columns(['phone_number_id', 'created_at']).execute()
  },
}

class Steps implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}

  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve(Object.fromEntries(Object.entries(STEPS).map(([name, up]) => [name, { up: (db: Kysely<unknown>) => up(db, this.dialect) }])))
  }
}

/** Applies the region database's pending migrations (as `migrate`, without the statement bound); returns the names applied. */
export function migrateRegion(database: Database): Promise<string[]> {
  return withoutStatementBound(() => migrateRegionNow(database))
}

async function migrateRegionNow(database: Database): Promise<string[]> {
  // MySQL: binary collation and key columns as the home store's migrations get them
  const { error, results } = await new Migrator({
    ...(await migratorBase(database, async (db) => {
      for (const up of Object.values(STEPS)) await up(db, database.dialect)
    })),
    provider: new Steps(database.dialect),
    migrationTableName: 'region_migration',
    migrationLockTableName: 'region_migration_lock',
  }).migrateToLatest()
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown'
    throw new Error(`Region migration ${failed} failed: ${String(error)}`, { cause: error })
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
