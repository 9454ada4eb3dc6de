import { Command } from 'commander'
import { configFrom, withConfigFlags, type FlagValues } from '../config-flags.js'
import { openStoreFromConfig } from '../open-store.js'

/** `wabox migrate`: applies pending migrations and exits; run once before starting a new version's nodes. */
export function migrateCommand(): Command {
  return withConfigFlags(new Command('migrate').description('apply pending database migrations and exit'))
    .action(async (flags: FlagValues) => {
      const config = configFrom(flags)
      const { database, applied } = await openStoreFromConfig(config)
      await database.close()
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date')
    })
}
