import path from 'node:path'
import type { Clock } from '../clock.js'
import { systemClock } from '../clock.js'
import type { Config } from '../config/config.js'
import { privateDir } from '../private-files.js'
import { verifyAtRestKey } from '../store/at-rest-check.js'
import { checkDatabase, openDatabase, type Database, type DatabaseOptions } from '../store/database.js'
import { migrate } from '../store/migrate.js'
import { openRegions, wabasInUnconfiguredRegions, type Regions } from '../store/regions.js'
import { sealingKeyId, storedMediaKey } from '../store/key-rotation.js'
import { MasterKeyFiles } from '../store/master-key-files.js'
import { loadAtRestKeys, Sealer } from '../store/sealer.js'
import { deriveMediaKey } from '../media/sealed-stream.js'
import { Store } from '../store/store.js'
import { CliError, errorLine } from './cli-error.js'
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
    // while a rotation is under way (master.key.next) both keys open, and the one the database
    // names seals; the files are checked again at each heartbeat (a key from the environment stays)
    const files = config.masterKey ? undefined : new MasterKeyFiles(config.dataDir)
    const keys = loadAtRestKeys(config.masterKey, config.dataDir)
    const atRestKey = keys.primary
    // the pool would wait forever on a host that never answers: fail within seconds instead
    if (config.databaseUrl) await checkDatabase(config.databaseUrl)
    database = openDatabase({ url: config.databaseUrl, sqlitePath: path.join(config.dataDir, 'wabox.db'), ...sqlite, ...statementBound(config) })
    const applied = await migrate(database)
    const sealer = new Sealer(keys.primary, keys.older, files)
    sealer.refresh(await sealingKeyId(database.db))
    await verifyAtRestKey(database, sealer)
    const mediaKey = (await storedMediaKey(database, sealer)) ?? deriveMediaKey(keys.older.at(-1) ?? keys.primary)
    const regions = await openConfiguredRegions(config, database, sealer, clock)
    const home = database
    // the deployment's databases close together: the home store and its regions
    if (regions) database = { ...home, close: async () => { await regions.close(); await home.close() } }
    return { database, store: Store.open(database, sealer, clock, regions), atRestKey, mediaKey, applied }
  } catch (err) {
    await database?.close().catch(() => undefined)
    throw storeStartupError(err, config)
  }
}

/** The configured regions, opened and migrated; a WABA localised in a region not configured stops the start. */
async function openConfiguredRegions(config: Config, database: Database, sealer: Sealer, clock: Clock): Promise<Regions | undefined> {
  const names = config.regions.map((r) => r.name)
  const [missing] = await wabasInUnconfiguredRegions(database.db, names)
  if (missing) {
    throw new CliError(`WABA ${missing.wabaId} keeps its data in region ${missing.region}, which is not configured (configured: ${names.join(', ') || 'none'}): add --region ${missing.region}=LOCATION (or WABOX_REGIONS)`)
  }
  if (config.regions.length === 0) return undefined
  for (const region of config.regions) {
    try {
      if (region.url) await checkDatabase(region.url)
    } catch (err) {
      throw new CliError(`region ${region.name}: ${errorLine(storeStartupError(err, { ...config, databaseUrl: region.url }))}; or fix --region ${region.name}=LOCATION (WABOX_REGIONS)`, 1, { cause: err })
    }
  }
  try {
    return await openRegions(config.regions, sealer, clock, statementBound(config))
  } catch (err) {
    throw new CliError(`a region database could not be opened: ${errorLine(err)}; fix --region NAME=LOCATION (WABOX_REGIONS)`, 1, { cause: err })
  }
}

/** `--database-timeout` as the store takes it; unset, the store's default applies. */
function statementBound(config: Config): Pick<DatabaseOptions, 'statementTimeoutMs'> {
  return config.databaseTimeout === undefined ? {} : { statementTimeoutMs: config.databaseTimeout * 1000 }
}
