import { CompiledQuery, Kysely, MysqlDialect, sql, type ExpressionBuilder, type KyselyPlugin } from 'kysely'
import mysql from 'mysql2'
import type { Database, DatabaseOptions } from '../database.js'
import type { DB } from '../schema.js'
import { DatabaseUnavailableError } from '../../errors/index.js'
import { databaseBounds } from './bounds.js'
import { boundedMysqlPool } from './mysql-pool.js'
import { IDLE_TRANSACTION_TIMEOUT_MS, type Column, type DatabaseErrorKind, type Engine, type Returned, type Table, type UpdateReturning } from './engine.js'
import { collectKeyColumns, MysqlSchemaPlugin } from './mysql-schema.js'
import { loose, looseSet, looseWhere, onOneConnection, type LooseDB } from './standard-sql.js'

const RETRY = new Set([1205, 1213]) // lock wait timeout, deadlock
// server gone away, lost during query, shutdown, connection killed (MariaDB), client timed out (MySQL 8)
const CONNECTION_LOST = new Set([1053, 1927, 2006, 2013, 4031])
const NETWORK_ERRORS = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'])

/**
 * MySQL 8 and MariaDB 10.6+ (SKIP LOCKED) through mysql2. Sessions run at READ COMMITTED, as
 * PostgreSQL does, instead of InnoDB's REPEATABLE READ: every statement sees what was committed
 * before it (a re-read after a lost race finds the winner's row) and no gap locks are taken, so
 * concurrent inserts into the same index range do not deadlock each other.
 *
 * MySQL has no UPDATE … RETURNING (MariaDB has it for INSERT and DELETE only), so it is emulated
 * the same way for both, in one transaction: SELECT the matching rows FOR UPDATE (claims: SKIP
 * LOCKED, which also avoids error 1093 of an UPDATE reading its own table), UPDATE them by primary
 * key, and read the returned columns again only if the update changed one of them.
 */
export const mysqlEngine: Engine = {
  name: 'mysql',
  columnTypes: { blob: sql`longblob`, time: 'bigint', serial: 'serial', key: 'varchar(191)' },
  commitsInKeyOrder: false,
  upsert: (insert, _key, set) => insert.onDuplicateKeyUpdate(set((column) => sql<never>`values(${sql.ref(column)})`) as never),
  // IGNORE also turns other errors of the row (a foreign key, a value too long) into warnings;
  // the statements that use it insert rows whose references exist
  insertIgnore: (insert) => insert.ignore(),
  updateReturning: (db, spec) => lockedUpdate(db, spec, undefined),
  claim: (db, spec) => lockedUpdate(db, spec, { orderBy: spec.orderBy, limit: spec.limit }),
  async selectForUpdate<T extends Table, C extends Column<T>>(db: Kysely<DB>, table: T, columns: readonly C[], where: UpdateReturning<T, C>['where']) {
    const row = await loose(db).selectFrom(table as string).select(columns).where(looseWhere(where)).forUpdate().executeTakeFirst()
    return row as Returned<T, C> | undefined
  },
  withAdvisoryLock: (db, name, fn) => onOneConnection(db, async (conn) => {
    // lock names are server-wide: the database's name keeps deployments sharing a server apart
    const lock = sql`left(concat(database(), '/', ${name}), 64)`
    // a negative timeout (wait forever) gives NULL on MariaDB: a year is as long
    const got = await sql<{ got: number | null }>`select get_lock(${lock}, 31536000) as got`.execute(conn)
    if (got.rows[0]?.got !== 1) throw new Error(`could not take the database lock ${name}`)
    try {
      return await fn(conn)
    } finally {
      await sql`select release_lock(${lock})`.execute(conn)
    }
  }),
  classify(err): DatabaseErrorKind | undefined {
    if (err instanceof DatabaseUnavailableError) return 'connection-lost'
    const { errno, code } = err as { errno?: unknown; code?: unknown }
    if (errno === 1062 || errno === 1586) return 'unique-violation'
    if (typeof errno === 'number' && RETRY.has(errno)) return 'retry'
    if (typeof errno === 'number' && CONNECTION_LOST.has(errno)) return 'connection-lost'
    if (typeof code === 'string' && NETWORK_ERRORS.has(code)) return 'connection-lost'
    return undefined
  },
  async migrationPlugins(db, steps): Promise<KyselyPlugin[]> {
    const version = await sql<{ v: string }>`select version() as v`.execute(db)
    // NO PAD: 'a' and 'a ' are different ids, as everywhere else
    const collation = /mariadb/i.test(version.rows[0]?.v ?? '') ? 'utf8mb4_nopad_bin' : 'utf8mb4_0900_bin'
    return [new MysqlSchemaPlugin(await collectKeyColumns(steps), collation)]
  },
}

async function lockedUpdate<T extends Table, C extends Column<T>>(
  db: Kysely<DB>, spec: UpdateReturning<T, C>, claim: { orderBy: readonly Column<T>[]; limit: number } | undefined,
): Promise<Returned<T, C>[]> {
  const work = async (trx: Kysely<DB>): Promise<Returned<T, C>[]> => {
    const q = loose(trx)
    const key: readonly string[] = spec.key
    let select = q.selectFrom(spec.table as string).select([...new Set([...key, ...spec.returning])]).where(looseWhere(spec.where))
    if (claim) select = claim.orderBy.reduce((q, column) => q.orderBy(column), select).limit(claim.limit)
    const rows = await (claim ? select.forUpdate().skipLocked() : select.forUpdate()).execute()
    if (rows.length === 0) return []
    const byKey = (eb: ExpressionBuilder<LooseDB, string>) => {
      const [only] = key
      if (key.length === 1 && only !== undefined) return eb(only, 'in', rows.map((r) => r[only]))
      return eb.or(rows.map((r) => eb.and(key.map((k) => eb(k, '=', r[k])))))
    }
    await q.updateTable(spec.table as string).set(looseSet(spec.set)).where(byKey).execute()
    const changed = Object.keys(spec.set)
    if (!spec.returning.some((c) => changed.includes(c))) return rows as Returned<T, C>[]
    const returning: string[] = [...spec.returning]
    return (await q.selectFrom(spec.table as string).select(returning).where(byKey).execute()) as Returned<T, C>[]
  }
  return db.isTransaction ? work(db) : db.transaction().execute(work)
}

/** Connects once, giving up after `timeoutMs` (see checkPostgres). */
export async function checkMysql(url: string, timeoutMs = 10_000): Promise<void> {
  const connection = mysql.createConnection({ uri: url, connectTimeout: timeoutMs }).promise()
  await connection.connect()
  await connection.end()
}

export function openMysqlDatabase(url: string, options: Pick<DatabaseOptions, 'poolSize' | 'idleTransactionTimeoutMs' | 'statementTimeoutMs' | 'acquireTimeoutMs'>): Database {
  const idleSeconds = Math.max(1, Math.round((options.idleTransactionTimeoutMs ?? IDLE_TRANSACTION_TIMEOUT_MS) / 1000))
  const bounds = databaseBounds(options)
  const pool = mysql.createPool({
    uri: url,
    connectionLimit: options.poolSize ?? 10,
    // a new connection's handshake; the wait for a free one is bounded by boundedMysqlPool
    connectTimeout: bounds.acquireMs,
    charset: 'utf8mb4',
    // BIGINT (millisecond timestamps, sequence numbers, counts) as JS numbers, like PostgreSQL's int8 parser
    supportBigNumbers: true,
    bigNumberStrings: false,
  })
  const db = new Kysely<DB>({
    dialect: new MysqlDialect({
      pool: boundedMysqlPool(pool, bounds, (err) => mysqlEngine.classify(err) === 'connection-lost'),
      onCreateConnection: async (connection) => {
        await connection.executeQuery(CompiledQuery.raw('set session transaction isolation level read committed'))
        try {
          await connection.executeQuery(CompiledQuery.raw(`set session idle_transaction_timeout = ${idleSeconds}`))
        } catch {
          // MySQL 8 has no such variable: there a frozen client's locks last until wait_timeout
        }
      },
    }),
  })
  return { db, dialect: 'mysql', engine: mysqlEngine, close: () => db.destroy() }
}
