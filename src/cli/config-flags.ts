import type { Command } from 'commander'
import { ConfigError, resolveConfig, type Config, type RegionFlags } from '../config/config.js'
import { usageError } from './cli-error.js'

/** Flags shared by every command that reads the configuration. */
export function withConfigFlags(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data directory (WABOX_DATA_DIR, default ./wabox-data)')
    .option('--database-url <url>', 'postgres:// or mysql:// URL; unset = SQLite in the data directory (WABOX_DATABASE_URL)')
    .option('--database-timeout <seconds>', 'PostgreSQL, MySQL: a statement unanswered this long fails (WABOX_DATABASE_TIMEOUT, default 30)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (WABOX_LOG_LEVEL)')
    .option('--log-format <format>', 'json (one object per line, default) or pretty (WABOX_LOG_FORMAT)')
    .option('--region <name=location>', 'data-residency region: NAME=postgres://…, mysql://… or a directory; repeatable (WABOX_REGIONS)', collect, [])
    .option('--region-media <name=dir>', "a URL region's media directory; repeatable (WABOX_REGION_MEDIA)", collect, [])
}

/** The repeatable flags (commander collects them into arrays). */
function regionFlags(flags: FlagValues): RegionFlags {
  const lists = flags as Record<string, unknown>
  return { regions: lists.region as string[] | undefined, regionMedia: lists.regionMedia as string[] | undefined }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

export type FlagValues = Record<string, string | boolean | undefined>

/** Resolves config from the environment and a command's flags; an invalid value is a usage error naming it. */
export function configFrom(flags: FlagValues): Config {
  try {
    return resolveConfig(process.env, {
      dataDir: flags.dataDir,
      databaseUrl: flags.databaseUrl,
      databaseTimeout: flags.databaseTimeout,
      logLevel: flags.logLevel,
      logFormat: flags.logFormat,
      port: flags.port,
      host: flags.host,
      http: flags.http,
      phones: flags.phones,
      profile: flags.profile,
      networkPort: flags.networkPort,
    }, regionFlags(flags))
  } catch (err) {
    throw err instanceof ConfigError ? usageError(err.message) : err
  }
}
