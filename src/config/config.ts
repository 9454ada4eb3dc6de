import path from 'node:path'
import { resolveRegions, type RegionConfig } from './regions.js'

/** Everything wabox reads from its environment, resolved once and frozen. */
export interface Config {
  readonly dataDir: string
  readonly host: string
  readonly port: number
  readonly http: boolean
  /** `postgres://...` selects PostgreSQL, `mysql://...` MySQL or MariaDB; unset means SQLite in the data directory. */
  readonly databaseUrl: string | undefined
  /** 32-byte key for encryption at rest; unset means a key file in the data directory. */
  readonly masterKey: Buffer | undefined
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** `json`: one JSON object per line on stdout, for log collectors; `pretty`: one readable line per entry. */
  readonly logFormat: 'json' | 'pretty'
  /** `dev` relaxes network limits and allows http:// webhooks on loopback. */
  readonly profile: 'dev' | 'production'
  /** Simulated phones provisioned by `wabox start` on first start. */
  readonly phones: number
  /** Port of the built-in network (0 = any free port). */
  readonly networkPort: number
  /** PostgreSQL, MySQL: seconds a statement may go unanswered before it fails; unset: the store's default (30 s). */
  readonly databaseTimeout: number | undefined
  /** Data-residency regions (`--region NAME=LOCATION`); empty when all data stays in the database above. */
  readonly regions: readonly RegionConfig[]
}

export class ConfigError extends Error {}

type Source = Record<string, string | undefined>

interface Option<K extends keyof Config> {
  key: K
  env: string
  /** A secret has no flag: command lines are visible to every user of the machine. */
  flag: string
  rule: string
  parse(raw: string): Config[K] | undefined
  fallback: Config[K]
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

function integer(min: number, max: number) {
  return (raw: string): number | undefined => {
    if (!/^\d+$/.test(raw)) return undefined
    const n = Number(raw)
    return n >= min && n <= max ? n : undefined
  }
}

function boolean(raw: string): boolean | undefined {
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false
  return undefined
}

function masterKey(raw: string): Buffer | undefined {
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64')
  return key.length === 32 ? key : undefined
}

function pick<T extends string>(values: readonly T[]) {
  return (raw: string): T | undefined => values.find((v) => v === raw)
}

type Scalar = Exclude<keyof Config, 'regions'>

const OPTIONS: { [K in Scalar]: Option<K> } = {
  dataDir: { key: 'dataDir', env: 'WABOX_DATA_DIR', flag: '--data-dir', rule: 'a directory path', parse: (r) => (r ? path.resolve(r) : undefined), fallback: path.resolve('wabox-data') },
  host: { key: 'host', env: 'WABOX_HOST', flag: '--host', rule: 'a host name or IP address', parse: (r) => (r ? r : undefined), fallback: '127.0.0.1' },
  port: { key: 'port', env: 'WABOX_PORT', flag: '--port', rule: 'an integer from 0 to 65535', parse: integer(0, 65535), fallback: 9090 },
  http: { key: 'http', env: 'WABOX_HTTP', flag: '--http', rule: 'true or false', parse: boolean, fallback: false },
  databaseUrl: {
    key: 'databaseUrl', env: 'WABOX_DATABASE_URL', flag: '--database-url', rule: 'a postgres://, postgresql:// or mysql:// URL',
    parse: (r) => (/^(postgres(ql)?|mysql):\/\//.test(r) ? r : undefined), fallback: undefined,
  },
  databaseTimeout: {
    key: 'databaseTimeout', env: 'WABOX_DATABASE_TIMEOUT', flag: '--database-timeout', rule: 'seconds from 1 to 3600',
    parse: integer(1, 3600), fallback: undefined,
  },
  masterKey: { key: 'masterKey', env: 'WABOX_MASTER_KEY', flag: '(env only)', rule: '32 bytes as 64 hex digits or base64', parse: masterKey, fallback: undefined },
  logLevel: { key: 'logLevel', env: 'WABOX_LOG_LEVEL', flag: '--log-level', rule: `one of ${LOG_LEVELS.join(', ')}`, parse: pick(LOG_LEVELS), fallback: 'info' },
  logFormat: { key: 'logFormat', env: 'WABOX_LOG_FORMAT', flag: '--log-format', rule: 'json or pretty', parse: pick(['json', 'pretty'] as const), fallback: 'json' },
  profile: { key: 'profile', env: 'WABOX_PROFILE', flag: '--profile', rule: 'dev or production', parse: pick(['dev', 'production'] as const), fallback: 'dev' },
  phones: { key: 'phones', env: 'WABOX_PHONES', flag: '--phones', rule: 'an integer from 0 to 10000', parse: integer(0, 10000), fallback: 5 },
  networkPort: { key: 'networkPort', env: 'WABOX_NETWORK_PORT', flag: '--network-port', rule: 'an integer from 0 to 65535', parse: integer(0, 65535), fallback: 0 },
}

/**
 * Resolves flags (already parsed by the CLI, keyed by Config field) over environment
 * variables over defaults. An invalid value throws a ConfigError naming its source and rule.
 */
export function resolveConfig(env: Source, flags: Partial<Record<Scalar, string | boolean | undefined>> = {}, lists: RegionFlags = {}): Config {
  const out: Record<string, unknown> = {}
  for (const option of Object.values(OPTIONS) as Option<Scalar>[]) {
    const flag = flags[option.key]
    const [raw, source] = flag !== undefined ? [String(flag), option.flag] : [env[option.env], option.env]
    if (raw === undefined || raw === '') {
      out[option.key] = option.fallback
      continue
    }
    const value = option.parse(raw)
    if (value === undefined) throw new ConfigError(`Invalid ${source}=${JSON.stringify(redact(option.key, raw))}: must be ${option.rule}`)
    out[option.key] = value
  }
  out.regions = resolveRegions(
    listSource(lists.regions, '--region', env.WABOX_REGIONS, 'WABOX_REGIONS'),
    listSource(lists.regionMedia, '--region-media', env.WABOX_REGION_MEDIA, 'WABOX_REGION_MEDIA'),
    out.dataDir as string,
    (message) => new ConfigError(message),
  )
  return Object.freeze(out as unknown as Config)
}

/** Repeatable flags; given, they replace their environment variable. */
export interface RegionFlags {
  regions?: readonly string[] | undefined
  regionMedia?: readonly string[] | undefined
}

function listSource(flags: readonly string[] | undefined, flag: string, env: string | undefined, name: string): { values: readonly string[]; source: string } {
  if (flags && flags.length > 0) return { values: flags, source: flag }
  return { values: env ? [env] : [], source: name }
}

function redact(key: Scalar, raw: string): string {
  return key === 'masterKey' || key === 'databaseUrl' ? '<redacted>' : raw
}

/** The environment variables wabox reads, for `--help` and the README. */
export function configTable(): { env: string; flag: string; rule: string }[] {
  return [
    ...Object.values(OPTIONS).map(({ env, flag, rule }) => ({ env, flag, rule })),
    { env: 'WABOX_REGIONS', flag: '--region', rule: 'NAME=LOCATION[,NAME=LOCATION…]: a postgres://, mysql:// URL or a directory per region' },
    { env: 'WABOX_REGION_MEDIA', flag: '--region-media', rule: 'NAME=DIR[,…]: media root of a region' },
  ]
}
