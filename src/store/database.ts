import path from 'node:path'
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type QueryResult, type SqliteDialectConfig } from 'kysely'
import pg from 'pg'
import { privateDir } from '../private-files.js'
import { openSqlite, type SqliteGate } from '../sqlite.js'
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
  // the data directory is prepared by the caller (cli/open-store.ts); a missing one is made owner-only
  privateDir(path.dirname(file), false)
  // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the last commits)
  const database = openSqlite(file, { synchronous: 'NORMAL', foreignKeys: true, checkpoints })
  const db = new Kysely<DB>({ dialect: new WaboxSqliteDialect({ database }, gate) })
  return {
    db,
    dialect: 'sqlite',
    close: async () => {
      await db.destroy()
      await database.stopped()
    },
  }
}

/**
 * Connects once, giving up after `timeoutMs`: a pool waits as long as the operating system
 * does (minutes) for a host that never answers, so startup checks the server this way first.
 */
export async function checkPostgres(url: string, timeoutMs = 10_000): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs })
  await client.connect()
  await client.end()
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
 *
 * With a gate (another thread of this process has its own connection to the file), a
 * transaction or a write outside one first waits its turn there, asynchronously; reads
 * never wait (WAL).
 */
class WaboxSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig
  readonly #gate: SqliteGate | undefined

  constructor(config: SqliteDialectConfig, gate: SqliteGate | undefined) {
    super(config)
    this.#config = config
    this.#gate = gate
  }

  override createDriver(): Driver {
    return new WaboxSqliteDriver(this.#config, this.#gate)
  }
}

class WaboxSqliteDriver extends SqliteDriver {
  readonly #gate: SqliteGate | undefined
  #gated: GatedConnection | undefined

  constructor(config: SqliteDialectConfig, gate: SqliteGate | undefined) {
    super(config)
    this.#gate = gate
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection()
    if (!this.#gate) return connection
    // SQLite has one connection per driver: wrap it once
    this.#gated ??= new GatedConnection(connection, this.#gate)
    return this.#gated
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    if (connection instanceof GatedConnection) return connection.begin()
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }

  override async commitTransaction(connection: DatabaseConnection): Promise<void> {
    if (connection instanceof GatedConnection) return connection.end('commit')
    await super.commitTransaction(connection)
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (connection instanceof GatedConnection) return connection.end('rollback')
    await super.rollbackTransaction(connection)
  }
}

/** Holds the gate from BEGIN to COMMIT or ROLLBACK, and around each write outside a transaction. */
class GatedConnection implements DatabaseConnection {
  readonly #inner: DatabaseConnection
  readonly #gate: SqliteGate
  #inTransaction = false

  constructor(inner: DatabaseConnection, gate: SqliteGate) {
    this.#inner = inner
    this.#gate = gate
  }

  async begin(): Promise<void> {
    await this.#gate.acquire()
    try {
      await this.#inner.executeQuery(CompiledQuery.raw('begin immediate'))
    } catch (err) {
      this.#gate.release()
      throw err
    }
    this.#inTransaction = true
  }

  /** A failed COMMIT keeps the turn: Kysely rolls back next. */
  async end(how: 'commit' | 'rollback'): Promise<void> {
    try {
      await this.#inner.executeQuery(CompiledQuery.raw(how))
    } catch (err) {
      if (how === 'commit') throw err
      this.#release()
      throw err
    }
    this.#release()
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.#inTransaction || query.query.kind === 'SelectQueryNode') return this.#inner.executeQuery<R>(query)
    await this.#gate.acquire()
    try {
      return await this.#inner.executeQuery<R>(query)
    } finally {
      this.#gate.release()
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.#inner.streamQuery<R>(query, chunkSize)
  }

  #release(): void {
    if (!this.#inTransaction) return
    this.#inTransaction = false
    this.#gate.release()
  }
}
