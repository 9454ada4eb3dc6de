import fs from 'node:fs'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, PostgresDialect, SqliteDialect, type SqliteDatabase } from 'kysely'
import pg from 'pg'
import type { DB } from './schema.js'

export type Dialect = 'sqlite' | 'postgres'

export interface Database {
  readonly db: Kysely<DB>
  readonly dialect: Dialect
  /** PostgreSQL schema in use, when not the default search path. */
  readonly schema?: string
  close(): Promise<void>
}

export interface DatabaseOptions {
  /** `postgres://...`; when absent, SQLite at `sqlitePath`. */
  url?: string | undefined
  sqlitePath?: string
  /** PostgreSQL schema to use (tests isolate themselves this way). */
  schema?: string
  poolSize?: number
}

// int8 and numeric come back as strings by default; our int8 columns are millisecond
// timestamps and sequence numbers, all far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v))

export function openDatabase(options: DatabaseOptions): Database {
  if (options.url) return openPostgres(options.url, options)
  if (!options.sqlitePath) throw new Error('openDatabase needs a PostgreSQL url or a SQLite path')
  return openSqlite(options.sqlitePath)
}

function openSqlite(file: string): Database {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const sqlite = new SQLite(file)
  // WAL lets readers run beside the single writer; NORMAL is durable across process
  // crashes in WAL mode (only an OS crash can lose the last commits).
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 5000')
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) })
  return { db, dialect: 'sqlite', close: () => db.destroy() }
}

/**
 * Kysely prepares every query anew; compiling the SQL was ~9 % of the CPU of a busy wabox
 * (profiled under `npm run bench`). Queries come from a fixed set of builders, so cache the
 * prepared statements by SQL text. A cached statement that is still being iterated (a
 * streamed query) is busy, so streaming gets a fresh statement.
 */
function withStatementCache(sqlite: SQLite.Database, max = 500): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>()
  return {
    close: () => sqlite.close(),
    prepare: (sql: string) => {
      let stmt = cache.get(sql)
      if (stmt?.busy) return sqlite.prepare(sql)
      if (!stmt) {
        stmt = sqlite.prepare(sql)
        // insert statements with many rows have unique SQL; keep the cache bounded
        if (cache.size >= max) cache.delete(cache.keys().next().value!)
        cache.set(sql, stmt)
      }
      return stmt
    },
  }
}

function openPostgres(url: string, options: DatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  })
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) })
  return { db, dialect: 'postgres', ...(options.schema ? { schema: options.schema } : {}), close: () => db.destroy() }
}
