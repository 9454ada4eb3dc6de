import type { Logger } from 'pino'
import type { Config } from '../../config/config.js'
import { Notifier } from '../../store/notifications.js'
import { openStoreFromConfig } from '../open-store.js'
import type { Teardown } from '../teardown.js'

/**
 * The database every process of a deployment shares, and its wake-ups: LISTEN/NOTIFY on
 * PostgreSQL, polling alone on other engines. Both closed by `teardown`.
 */
export async function openDeploymentStore(config: Config, logger: Logger, teardown: Teardown) {
  const { database, store, mediaKey } = await openStoreFromConfig(config)
  teardown.add('database', () => database.close())
  const notifier = new Notifier(store.dialect === 'postgres' ? config.databaseUrl : undefined, logger)
  teardown.add('notifications', () => notifier.close())
  return { store, mediaKey, notifier }
}
