import { Command, Option } from 'commander'
import { ConfigError, configTable, resolveConfig, type Config } from '../config/config.js'
import { openStoreFromConfig } from './open-store.js'
import { startCommand } from './start.js'
import { VERSION } from './version.js'

/** Flags shared by every command that reads the configuration. */
export function withConfigFlags(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data directory (WABOX_DATA_DIR, default ./wabox-data)')
    .option('--database-url <url>', 'postgres:// URL; unset = SQLite in the data directory (WABOX_DATABASE_URL)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (WABOX_LOG_LEVEL)')
}

type FlagValues = Record<string, string | boolean | undefined>

/** Resolves config from the environment and a command's flags; exits with a clear message if invalid. */
export function configFrom(flags: FlagValues): Config {
  try {
    return resolveConfig(process.env, {
      dataDir: flags.dataDir,
      databaseUrl: flags.databaseUrl,
      logLevel: flags.logLevel,
      port: flags.port,
      host: flags.host,
      http: flags.http,
      phones: flags.phones,
      profile: flags.profile,
      networkPort: flags.networkPort,
    })
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`wabox: ${err.message}`)
      process.exit(2)
    }
    throw err
  }
}

export function buildProgram(): Command {
  const program = new Command('wabox')
    .description('Self-hostable WhatsApp Business API with its own WhatsApp network and simulated phones')
    .version(VERSION, '-V, --version')
    .addHelpText('after', '\nEnvironment:\n' + configTable().map((o) => `  ${o.env.padEnd(20)} ${o.flag.padEnd(16)} ${o.rule}`).join('\n'))

  withConfigFlags(program.command('migrate').description('apply pending database migrations and exit'))
    .action(async (flags: FlagValues) => {
      const config = configFrom(flags)
      const { database, applied } = await openStoreFromConfig(config)
      await database.close()
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date')
    })

  program.addCommand(startCommand())
  program.addOption(new Option('--no-color').hideHelp())
  return program
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv)
}
