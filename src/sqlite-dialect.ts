import { CompiledQuery, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type QueryResult, type SqliteDialectConfig } from 'kysely'
import type { SqliteGate } from './sqlite.js'

/**
 * Transactions start with BEGIN IMMEDIATE: they take the write lock up front and wait for it
 * (busy_timeout) when another connection holds it. A deferred BEGIN that reads and then
 * writes fails at once with SQLITE_BUSY instead, since waiting could deadlock it.
 *
 * With a gate (another thread of this process has its own connection to the file), a
 * transaction or a write outside one first waits its turn there, asynchronously; reads
 * never wait (WAL).
 */
export class WaboxSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig
  readonly #gate: SqliteGate | undefined

  constructor(config: SqliteDialectConfig, gate?: SqliteGate) {
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
