import type { ColumnDataType, Expression, ExpressionBuilder, InsertQueryBuilder, InsertResult, Kysely, KyselyPlugin, RawBuilder, Selectable, SqlBool, UpdateObject } from 'kysely'
import type { DB } from '../schema.js'

export type EngineName = 'sqlite' | 'postgres' | 'mysql'

/**
 * Column types of migrations that differ between engines. Frozen like the migrations that use
 * them: changing one would change what released migrations create.
 */
export interface ColumnTypes {
  /** Bytes (sealed data). */
  readonly blob: ColumnDataType | Expression<unknown>
  /** Integer milliseconds since the epoch, sizes and other 64-bit integers. */
  readonly time: 'integer' | 'bigint'
  /** An auto-incrementing 64-bit key (SQLite also needs `.autoIncrement()`). */
  readonly serial: 'integer' | 'bigserial' | 'serial'
  /** Text that is part of a key or an index: MySQL cannot index TEXT without a prefix length. */
  readonly key: 'text' | 'varchar(191)'
}

export type Table = keyof DB & string
export type Column<T extends Table> = keyof DB[T] & string

/** An UPDATE whose changed rows come back, as `UPDATE … RETURNING` does where the engine has it. */
export interface UpdateReturning<T extends Table, C extends Column<T>> {
  table: T
  /** The table's primary key (the rows are found again by it where RETURNING is emulated). */
  key: readonly Column<T>[]
  where: (eb: ExpressionBuilder<DB, T>) => Expression<SqlBool>
  set: UpdateObject<DB, T, T>
  returning: readonly C[]
}

/** Claims the first `limit` rows by `orderBy` that nobody else is claiming right now. */
export interface Claim<T extends Table, C extends Column<T>> extends UpdateReturning<T, C> {
  orderBy: readonly Column<T>[]
  limit: number
}

export type Returned<T extends Table, C extends Column<T>> = Pick<Selectable<DB[T]>, C & keyof Selectable<DB[T]>>

/**
 * How long a server waits on a client idle inside a transaction before ending it (PostgreSQL
 * `idle_in_transaction_session_timeout`, MariaDB `idle_transaction_timeout`). A CoreApp frozen
 * mid-commit (SIGSTOP, a paused VM) keeps its lease row locked; this frees it soon after the
 * lease itself expires (6 s), so a standby can take over. A healthy node is never idle that long
 * inside a transaction.
 */
export const IDLE_TRANSACTION_TIMEOUT_MS = 5000

/** What a database error means to the caller, whatever the engine's codes. */
export type DatabaseErrorKind =
  /** A unique or primary key already holds the value. */
  | 'unique-violation'
  /** Deadlock, lock wait timeout or serialization failure: the transaction may be run again. */
  | 'retry'
  /** The connection to the server broke. */
  | 'connection-lost'

/** The value an upsert would have inserted, for its update: `excluded.col` or `VALUES(col)`. */
export type Incoming<T extends Table> = (column: Column<T>) => RawBuilder<never>

type Insert<T extends Table> = InsertQueryBuilder<DB, T, InsertResult>

/**
 * Everything that differs between the store's engines. Repositories call these and never ask
 * which engine they run on.
 */
export interface Engine {
  readonly name: EngineName
  readonly columnTypes: ColumnTypes
  /**
   * Rows commit in the order of their serial keys: one writer at a time takes a key and commits
   * before the next can take one (SQLite). Elsewhere a row can commit after a higher key was read.
   */
  readonly commitsInKeyOrder: boolean
  /**
   * Insert, or update the row holding the same `key` (a primary or unique key; MySQL updates
   * on whichever unique key conflicts). An assignment may read the old row as `table.column`,
   * but only its own column (MySQL applies assignments left to right).
   */
  upsert<T extends Table>(insert: Insert<T>, key: readonly Column<T>[], set: (incoming: Incoming<T>) => UpdateObject<DB, T, T>): Insert<T>
  /** Insert, leaving an existing row with the same `key` as it is (any schema: `meta` is not in DB). */
  insertIgnore<D, T extends keyof D & string>(insert: InsertQueryBuilder<D, T, InsertResult>, key: readonly (keyof D[T] & string)[]): InsertQueryBuilder<D, T, InsertResult>
  /** UPDATE … RETURNING; run it in a transaction where the engine emulates it. */
  updateReturning<T extends Table, C extends Column<T>>(db: Kysely<DB>, spec: UpdateReturning<T, C>): Promise<Returned<T, C>[]>
  /** Claims rows like a queue: rows locked by another transaction are skipped, not waited for. */
  claim<T extends Table, C extends Column<T>>(db: Kysely<DB>, spec: Claim<T, C>): Promise<Returned<T, C>[]>
  /** Reads a row and keeps it locked until the transaction ends (SQLite: it has one writer anyway). */
  selectForUpdate<T extends Table, C extends Column<T>>(db: Kysely<DB>, table: T, columns: readonly C[], where: UpdateReturning<T, C>['where']): Promise<Returned<T, C> | undefined>
  /** Runs `fn` while holding a named lock that every process on this database shares. */
  withAdvisoryLock<R>(db: Kysely<DB>, name: string, fn: (db: Kysely<DB>) => Promise<R>): Promise<R>
  classify(err: unknown): DatabaseErrorKind | undefined
  /** The schema unqualified names resolve to, where the engine has schemas within a database. */
  currentSchema?(db: Kysely<DB>): Promise<string | undefined>
  /**
   * The same Kysely, with an introspection that looks in `schema` only, for Kysely's migrator
   * (by default it introspects every schema, which fails if another is dropped meanwhile).
   */
  scopeIntrospection?<D>(db: Kysely<D>, schema: string): Kysely<D>
  /** Plugins that adapt the migrations' schema statements; `steps` runs every migration on a given Kysely. */
  migrationPlugins?(db: Kysely<unknown>, steps: (db: Kysely<unknown>) => Promise<void>): Promise<KyselyPlugin[]>
}
