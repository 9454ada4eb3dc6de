import fs from 'node:fs'
import path from 'node:path'
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely'
import pg from 'pg'
import { openSqlite, type SqliteGate } from '../sqlite.js'
import type { DB } from './schema.js'

export type Dialect = 'sqlite' | 'postgres'

export interface Database {
  readonly db: Kysely<DB>
  readonly dialect: Dialect
  /** PostgreSQL schema in use, when not the default search path. */
  readonly schema?: string
  /** SQLite opened with `gate`. */
  readonly gate?: SqliteGate
  close(): Promise<void>
}

export interface DatabaseOptions {
  /** `postgres://...`; when absent, SQLite at `sqlitePath`. */
  url?: string | undefined
  sqlitePath?: string
  /** PostgreSQL schema to use (tests isolate themselves this way). */
  schema?: string
  poolSize?: number
  /**
   * SQLite: run the WAL checkpoint thread (default true). A second connection in the same
   * process (`wabox start`'s engine thread) leaves checkpoints to the first.
   */
  checkpoints?: boolean
  /** SQLite: a write lock shared with another thread's connection to the same file (see SqliteGate). */
  gate?: SqliteGate
}

// int8 and numeric come back as strings by default; our int8 columns are millisecond
// timestamps and sequence numbers, all far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v))

export function openDatabase(options: DatabaseOptions): Database {
  if (options.url) return openPostgres(options.url, options)
  if (!options.sqlitePath) throw new Error('openDatabase needs a PostgreSQL url or a SQLite path')
  return openSqliteStore(options.sqlitePath, options.checkpoints ?? true, options.gate)
}

function openSqliteStore(file: string, checkpoints: boolean, gate: SqliteGate | undefined): Database {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the last commits)
  const database = openSqlite(file, { synchronous: 'NORMAL', foreignKeys: true, checkpoints })
  const db = new Kysely<DB>({ dialect: new ImmediateSqliteDialect({ database }) })
  return {
    db,
    dialect: 'sqlite',
    ...(gate ? { gate } : {}),
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

/**
 * Transactions start with BEGIN IMMEDIATE: they take the write lock up front and wait for it
 * (busy_timeout) when another connection holds it. A deferred BEGIN that reads and then
 * writes fails at once with SQLITE_BUSY instead, since waiting could deadlock it.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig

  constructor(config: SqliteDialectConfig) {
    super(config)
    this.#config = config
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config)
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}
