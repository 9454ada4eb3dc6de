import path from 'node:path'
import { CompiledQuery, Kysely, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type QueryResult, type SqliteDialectConfig } from 'kysely'
import { privateDir } from '../../private-files.js'
import { openSqlite, type SqliteGate } from '../../sqlite.js'
import type { Database } from '../database.js'
import type { DB } from '../schema.js'
import type { DatabaseErrorKind, Engine } from './engine.js'
import { standardSql } from './standard-sql.js'

/**
 * SQLite: one writer at a time (BEGIN IMMEDIATE takes the write lock up front), so every
 * transaction is serializable and rows need no locks; WAL lets reads run beside the writer.
 */
export const sqliteEngine: Engine = {
  name: 'sqlite',
  columnTypes: { blob: 'blob', time: 'integer', serial: 'integer', key: 'text' },
  ...standardSql(false),
  withAdvisoryLock: (db, name, fn) => processLock(name, () => fn(db)),
  classify(err) {
    const code = (err as { code?: unknown }).code
    if (typeof code !== 'string') return undefined
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return 'unique-violation'
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'retry' satisfies DatabaseErrorKind
    return undefined
  },
}

const held = new Map<string, Promise<unknown>>()

/** A SQLite file is served by one host: a lock within this process is the lock of every user. */
async function processLock<R>(name: string, fn: () => Promise<R>): Promise<R> {
  const before = held.get(name) ?? Promise.resolve()
  const run = before.catch(() => undefined).then(fn)
  const tail = run.catch(() => undefined)
  held.set(name, tail)
  try {
    return await run
  } finally {
    if (held.get(name) === tail) held.delete(name)
  }
}

export function openSqliteDatabase(file: string, checkpoints: boolean, gate: SqliteGate | undefined): Database {
  // the data directory is prepared by the caller (cli/open-store.ts); a missing one is made owner-only
  privateDir(path.dirname(file), false)
  // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the last commits)
  const database = openSqlite(file, { synchronous: 'NORMAL', foreignKeys: true, checkpoints, gate })
  const db = new Kysely<DB>({ dialect: new WaboxSqliteDialect({ database }, gate) })
  return {
    db,
    dialect: 'sqlite',
    engine: sqliteEngine,
    close: async () => {
      await db.destroy()
      await database.stopped()
    },
  }
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
