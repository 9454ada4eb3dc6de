import path from 'node:path'
import type { Clock } from '../clock.js'
import { systemClock } from '../clock.js'
import type { Config } from '../config/config.js'
import { privateDir } from '../private-files.js'
import { verifyAtRestKey } from '../store/at-rest-check.js'
import { checkDatabase, openDatabase, type Database, type DatabaseOptions } from '../store/database.js'
import { migrate } from '../store/migrate.js'
import { storedMediaKey } from '../store/key-rotation.js'
import { MasterKeyFiles } from '../store/master-key-files.js'
import { loadAtRestKeys, Sealer } from '../store/sealer.js'
import { deriveMediaKey } from '../media/sealed-stream.js'
import { Store } from '../store/store.js'
import { storeStartupError } from './startup-errors.js'

export interface OpenedStore {
  database: Database
  store: Store
  atRestKey: Buffer
  /** The media volume's key: kept in meta once the master key was rotated, else derived from the first master key. */
  mediaKey: Buffer
  applied: string[]
}

/**
 * Opens the configured database, applies pending migrations, checks the at-rest key against
 * it and builds the Store. Any failure closes what was opened and throws a CliError naming
 * the cause and the fix. `sqlite` tunes a SQLite connection that shares its file with another
 * thread (engine-host.ts).
 */
export async function openStoreFromConfig(config: Config, clock: Clock = systemClock, sqlite: Pick<DatabaseOptions, 'checkpoints' | 'gate'> = {}): Promise<OpenedStore> {
  let database: Database | undefined
  try {
    // the data directory holds the SQLite file or the key file; with neither it is not needed
    if (!config.databaseUrl || !config.masterKey) privateDir(config.dataDir)
    // while a rotation is under way (master.key.next) both keys open, the new one seals; key
    // files are checked again at each heartbeat (a key given in the environment stays as it is)
    const files = config.masterKey ? undefined : new MasterKeyFiles(config.dataDir)
    const keys = loadAtRestKeys(config.masterKey, config.dataDir)
    const atRestKey = keys.primary
    // the pool would wait forever on a host that never answers: fail within seconds instead
    if (config.databaseUrl) await checkDatabase(config.databaseUrl)
    database = openDatabase({ url: config.databaseUrl, sqlitePath: path.join(config.dataDir, 'wabox.db'), ...sqlite })
    const applied = await migrate(database)
    const sealer = new Sealer(keys.primary, keys.older, files)
    await verifyAtRestKey(database, sealer)
    const mediaKey = (await storedMediaKey(database, sealer)) ?? deriveMediaKey(keys.older.at(-1) ?? keys.primary)
    return { database, store: Store.open(database, sealer, clock), atRestKey, mediaKey, applied }
  } catch (err) {
    await database?.close().catch(() => undefined)
    throw storeStartupError(err, config)
  }
}
