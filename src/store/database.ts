import fs from 'node:fs'
import path from 'node:path'
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely'
import pg from 'pg'
import { openSqlite } from '../sqlite.js'
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
  return openSqliteStore(options.sqlitePath)
}

function openSqliteStore(file: string): Database {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the last commits)
  const database = openSqlite(file, { synchronous: 'NORMAL', foreignKeys: true })
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database }) })
  return {
    db,
    dialect: 'sqlite',
    close: async () => {
      await db.destroy()
      await database.stopped()
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
