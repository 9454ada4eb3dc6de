import type { Command } from 'commander'
import { ConfigError, resolveConfig, type Config } from '../config/config.js'
import { usageError } from './cli-error.js'

/** Flags shared by every command that reads the configuration. */
export function withConfigFlags(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data directory (WABOX_DATA_DIR, default ./wabox-data)')
    .option('--database-url <url>', 'postgres:// or mysql:// URL; unset = SQLite in the data directory (WABOX_DATABASE_URL)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (WABOX_LOG_LEVEL)')
    .option('--log-format <format>', 'json (one object per line, default) or pretty (WABOX_LOG_FORMAT)')
}

export type FlagValues = Record<string, string | boolean | undefined>

/** Resolves config from the environment and a command's flags; an invalid value is a usage error naming it. */
export function configFrom(flags: FlagValues): Config {
  try {
    return resolveConfig(process.env, {
      dataDir: flags.dataDir,
      databaseUrl: flags.databaseUrl,
      logLevel: flags.logLevel,
      logFormat: flags.logFormat,
      port: flags.port,
      host: flags.host,
      http: flags.http,
      phones: flags.phones,
      profile: flags.profile,
      networkPort: flags.networkPort,
    })
  } catch (err) {
    throw err instanceof ConfigError ? usageError(err.message) : err
  }
}
