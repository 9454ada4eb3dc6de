import path from 'node:path'
import type { Clock } from '../clock.js'
import { systemClock } from '../clock.js'
import type { Config } from '../config/config.js'
import { openDatabase, type Database, type DatabaseOptions } from '../store/database.js'
import { migrate } from '../store/migrate.js'
import { loadAtRestKey, Sealer } from '../store/sealer.js'
import { Store } from '../store/store.js'

/**
 * Opens the configured database, applies pending migrations and builds the Store.
 * `sqlite` tunes a SQLite connection that shares its file with another thread (engine-host.ts).
 */
export async function openStoreFromConfig(config: Config, clock: Clock = systemClock, sqlite: Pick<DatabaseOptions, 'checkpoints' | 'gate'> = {}): Promise<{ database: Database; store: Store; atRestKey: Buffer; applied: string[] }> {
  const database = openDatabase({ url: config.databaseUrl, sqlitePath: path.join(config.dataDir, 'wabox.db'), ...sqlite })
  const applied = await migrate(database)
  const atRestKey = loadAtRestKey(config.masterKey, config.dataDir)
  return { database, store: Store.open(database, new Sealer(atRestKey), clock), atRestKey, applied }
}
