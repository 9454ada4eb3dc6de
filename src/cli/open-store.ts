import path from 'node:path'
import type { Clock } from '../clock.js'
import { systemClock } from '../clock.js'
import type { Config } from '../config/config.js'
import { openDatabase, type Database } from '../store/database.js'
import { migrate } from '../store/migrate.js'
import { loadAtRestKey, Sealer } from '../store/sealer.js'
import { Store } from '../store/store.js'

/** Opens the configured database, applies pending migrations and builds the Store. */
export async function openStoreFromConfig(config: Config, clock: Clock = systemClock): Promise<{ database: Database; store: Store; atRestKey: Buffer; applied: string[] }> {
  const database = openDatabase({ url: config.databaseUrl, sqlitePath: path.join(config.dataDir, 'wabox.db') })
  const applied = await migrate(database)
  const atRestKey = loadAtRestKey(config.masterKey, config.dataDir)
  return { database, store: Store.open(database, new Sealer(atRestKey), clock), atRestKey, applied }
}
