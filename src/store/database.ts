import type { Kysely } from 'kysely'
import type { SqliteGate } from '../sqlite.js'
import type { Engine, EngineName } from './engines/engine.js'
import { checkMysql, openMysqlDatabase } from './engines/mysql.js'
import { checkPostgres, openPostgresDatabase } from './engines/postgres.js'
import { openSqliteDatabase } from './engines/sqlite.js'
import type { DB } from './schema.js'

export type Dialect = EngineName

export interface Database {
  readonly db: Kysely<DB>
  readonly dialect: Dialect
  /** What differs between engines: upserts, returning, claims, locks, error codes. */
  readonly engine: Engine
  /** PostgreSQL schema in use, when not the default search path. */
  readonly schema?: string
  close(): Promise<void>
}

export interface DatabaseOptions {
  /** `postgres://...` or `mysql://...`; when absent, SQLite at `sqlitePath`. */
  url?: string | undefined
  sqlitePath?: string
  /** PostgreSQL schema to use (tests isolate themselves this way). */
  schema?: string
  poolSize?: number
  /** PostgreSQL, MariaDB: end a transaction whose client has been idle this long (default IDLE_TRANSACTION_TIMEOUT_MS). */
  idleTransactionTimeoutMs?: number
  /** PostgreSQL, MySQL: longest wait for a statement's answer (default STATEMENT_TIMEOUT_MS; 0: none). */
  statementTimeoutMs?: number
  /** PostgreSQL, MySQL: longest wait for a connection, free or new (default ACQUIRE_TIMEOUT_MS). */
  acquireTimeoutMs?: number
  /**
   * SQLite: run the WAL checkpoint thread (default true). A second connection in the same
   * process (`wabox start`'s engine thread) leaves checkpoints to the first.
   */
  checkpoints?: boolean
  /** SQLite: a write lock shared with another thread's connection to the same file (see SqliteGate). */
  gate?: SqliteGate
}

/** The engine a database URL names, or undefined if it names none wabox knows. */
export function engineOfUrl(url: string): Exclude<Dialect, 'sqlite'> | undefined {
  if (/^postgres(ql)?:\/\//i.test(url)) return 'postgres'
  if (/^mysql:\/\//i.test(url)) return 'mysql'
  return undefined
}

export function openDatabase(options: DatabaseOptions): Database {
  if (options.url) {
    const engine = engineOfUrl(options.url)
    if (engine === 'postgres') return openPostgresDatabase(options.url, options)
    if (engine === 'mysql') return openMysqlDatabase(options.url, options)
    throw new Error('the database URL must start with postgres:// or mysql://')
  }
  if (!options.sqlitePath) throw new Error('openDatabase needs a database url or a SQLite path')
  return openSqliteDatabase(options.sqlitePath, options.checkpoints ?? true, options.gate)
}

/**
 * Connects once, giving up after `timeoutMs`: a pool waits as long as the operating system
 * does (minutes) for a host that never answers, so startup checks the server this way first.
 */
export function checkDatabase(url: string, timeoutMs?: number): Promise<void> {
  return engineOfUrl(url) === 'mysql' ? checkMysql(url, timeoutMs) : checkPostgres(url, timeoutMs)
}
