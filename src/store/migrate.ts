import { Migrator, type Kysely, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely'
import type { Database, Dialect } from './database.js'
import { withoutStatementBound } from './engines/bounds.js'
import * as m0001 from './migrations/0001-foundation.js'
import * as m0002 from './migrations/0002-webhooks.js'
import * as m0003 from './migrations/0003-webapp.js'
import * as m0004 from './migrations/0004-coreapp.js'
import * as m0005 from './migrations/0005-callback-data.js'
import * as m0006 from './migrations/0006-meta.js'
import * as m0007 from './migrations/0007-cloud-accounts.js'
import * as m0008 from './migrations/0008-bsuid.js'
import * as m0009 from './migrations/0009-number-management.js'
import * as m0010 from './migrations/0010-nodes.js'
import * as m0011 from './migrations/0011-tenancy.js'
import * as m0012 from './migrations/0012-sealing-key.js'

type Step = { up(db: Kysely<unknown>, dialect: Dialect): Promise<void> }

/** Frozen, ordered list. A migration is never edited once released. */
const STEPS: Record<string, Step> = {
  '0001-foundation': m0001,
  '0002-webhooks': m0002,
  '0003-webapp': m0003,
  '0004-coreapp': m0004,
  '0005-callback-data': m0005,
  '0006-meta': m0006,
  '0007-cloud-accounts': m0007,
  '0008-bsuid': m0008,
  '0009-number-management': m0009,
  '0010-nodes': m0010,
  '0011-tenancy': m0011,
  '0012-sealing-key': m0012,
}

class StaticProvider implements MigrationProvider {
  constructor(
    private readonly dialect: Dialect,
    private readonly upTo: string | undefined,
  ) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {}
    for (const [name, step] of Object.entries(STEPS)) {
      if (this.upTo !== undefined && name > this.upTo) break
      out[name] = { up: (db) => step.up(db, this.dialect) }
    }
    return out
  }
}

export const MIGRATION_NAMES: readonly string[] = Object.keys(STEPS)

/**
 * Applies pending migrations (all, or up to and including `upTo`). Returns the names applied.
 * Without the statement bound: a migration may rewrite a large table, or wait for another
 * node's migration to finish.
 */
export function migrate(database: Database, upTo?: string): Promise<string[]> {
  return withoutStatementBound(() => migrateNow(database, upTo))
}

async function migrateNow(database: Database, upTo: string | undefined): Promise<string[]> {
  const migrator = new Migrator({
    ...(await migratorBase(database, async (db) => {
      for (const step of Object.values(STEPS)) await step.up(db, database.dialect)
    })),
    provider: new StaticProvider(database.dialect, upTo),
  })
  const result: MigrationResultSet = await migrator.migrateToLatest()
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown'
    throw new Error(`Migration ${failed} failed: ${String(result.error)}`, { cause: result.error })
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

/**
 * What a Kysely Migrator of this store needs, whichever list of migrations it runs (home or
 * region): the Kysely with the engine's plugins (`allSteps` runs every migration of the list,
 * so a column gets the type its keys need from the first one on) and its introspection kept to
 * the store's schema (by default it lists every schema, and one dropped meanwhile fails it);
 * and that schema for the bookkeeping tables, which Kysely otherwise looks for in every schema
 * it can see (a URL may choose the schema too: ?options=-c search_path=…).
 */
export async function migratorBase(database: Database, allSteps: (db: Kysely<unknown>) => Promise<void>): Promise<{ db: Kysely<unknown>; migrationTableSchema?: string }> {
  const plugins = (await database.engine.migrationPlugins?.(database.db as unknown as Kysely<unknown>, allSteps)) ?? []
  const db = plugins.reduce((db, plugin) => db.withPlugin(plugin), database.db as unknown as Kysely<unknown>)
  const schema = database.schema ?? (await database.engine.currentSchema?.(database.db))
  if (!schema) return { db }
  return { db: database.engine.scopeIntrospection?.(db, schema) ?? db, migrationTableSchema: schema }
}
