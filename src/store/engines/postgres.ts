import { Kysely, PostgresDialect, sql, type DatabaseIntrospector, type PostgresPool, type PostgresPoolClient, type TableMetadata } from 'kysely'
import pg from 'pg'
import type { Database, DatabaseOptions } from '../database.js'
import type { DB } from '../schema.js'
import { DatabaseUnavailableError } from '../../errors/index.js'
import { databaseBounds, endWithin, Retirement, statementBound, within, type DatabaseBounds } from './bounds.js'
import { IDLE_TRANSACTION_TIMEOUT_MS, type DatabaseErrorKind, type Engine } from './engine.js'
import { onOneConnection, standardSql } from './standard-sql.js'

// int8 and numeric come back as strings by default; our int8 columns are millisecond
// timestamps and sequence numbers, all far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v))

const RETRY = new Set(['40001', '40P01', '55P03'])
const NETWORK_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'])

/**
 * PostgreSQL at its default isolation, READ COMMITTED: each statement sees what was committed
 * before it began. Claims lock their rows (`FOR UPDATE SKIP LOCKED`), the lease check of a
 * commit locks the lease row (`FOR UPDATE`), and conditional updates re-check their WHERE on
 * the newest row version, which is what the repositories rely on.
 */
export const postgresEngine: Engine = {
  name: 'postgres',
  columnTypes: { blob: 'bytea', time: 'bigint', serial: 'bigserial', key: 'text' },
  commitsInKeyOrder: false,
  ...standardSql(true),
  withAdvisoryLock: (db, name, fn) => onOneConnection(db, async (conn) => {
    await sql`select pg_advisory_lock(hashtext(${name}))`.execute(conn)
    try {
      return await fn(conn)
    } finally {
      await sql`select pg_advisory_unlock(hashtext(${name}))`.execute(conn)
    }
  }),
  async currentSchema(db) {
    return (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema
  },
  scopeIntrospection<D>(db: Kysely<D>, schema: string): Kysely<D> {
    // Kysely lists the columns of every schema, calling has_schema_privilege(name) on each: a
    // schema dropped by someone else meanwhile fails that call ("schema … does not exist").
    const tables = async (): Promise<TableMetadata[]> => {
      const rows = await sql<{ name: string; view: boolean }>`select c.relname as name, c.relkind = 'v' as view from pg_catalog.pg_class c
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace where n.nspname = ${schema} and c.relkind in ('r', 'v', 'p')`.execute(db)
      return rows.rows.map((r) => ({ name: r.name, schema, isView: r.view, columns: [] }))
    }
    const introspection: DatabaseIntrospector = {
      getSchemas: async () => [{ name: schema }],
      getTables: tables,
      getMetadata: async () => ({ tables: await tables() }),
    }
    return new Proxy(db, {
      get(target, prop) {
        if (prop === 'introspection') return introspection
        const value: unknown = Reflect.get(target, prop, target)
        // Kysely keeps its state in private fields: its methods must run on the real instance
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
      },
    })
  },
  classify(err): DatabaseErrorKind | undefined {
    if (err instanceof DatabaseUnavailableError) return 'connection-lost'
    const code = (err as { code?: unknown }).code
    if (code === '23505') return 'unique-violation'
    if (typeof code === 'string' && RETRY.has(code)) return 'retry'
    // 57P01..57P03: the server is shutting down; 08xxx: connection exceptions
    if (typeof code === 'string' && (code.startsWith('57P') || code.startsWith('08'))) return 'connection-lost'
    if (typeof code === 'string' && NETWORK_ERRORS.has(code)) return 'connection-lost'
    if (err instanceof Error && /Connection terminated/i.test(err.message)) return 'connection-lost'
    return undefined
  },
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

export function openPostgresDatabase(url: string, options: Pick<DatabaseOptions, 'schema' | 'poolSize' | 'idleTransactionTimeoutMs' | 'statementTimeoutMs' | 'acquireTimeoutMs'>): Database {
  const bounds = databaseBounds(options)
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    // bounds both the wait for a free connection and a new one's handshake
    connectionTimeoutMillis: bounds.acquireMs,
    // the OS drops an idle connection to a host that vanished instead of keeping it for hours
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    idle_in_transaction_session_timeout: options.idleTransactionTimeoutMs ?? IDLE_TRANSACTION_TIMEOUT_MS,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  })
  // A connection the server ends (a restart, a failover, the idle-transaction timeout) emits
  // 'error', which would end the process unheard: the pool drops the connection instead, and a
  // statement in flight on it fails as 'connection-lost' to its caller.
  pool.on('error', () => undefined)
  pool.on('connect', (client) => client.on('error', () => undefined))
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: boundedPool(pool, bounds) }) })
  return { db, dialect: 'postgres', engine: postgresEngine, ...(options.schema ? { schema: options.schema } : {}), close: () => db.destroy() }
}

/**
 * The pool as Kysely sees it. A connection goes back as broken once a statement on it failed
 * because the server ended it: pg blames the server's goodbye on the statement in flight and
 * the connection would go back to the pool before its socket reports the end, failing the next
 * statement too. A statement unanswered within the bound closes its socket (pg's own
 * `query_timeout` leaves the connection waiting behind it) and retires the pool's older
 * connections. Failing to connect, a broken connection and a timeout all fail as
 * DatabaseUnavailableError.
 */
function boundedPool(pool: pg.Pool, bounds: DatabaseBounds): PostgresPool {
  const retirement = new Retirement<pg.PoolClient>()
  const open = new Set<pg.PoolClient>()
  pool.on('connect', (client) => {
    retirement.opened(client as pg.PoolClient)
    open.add(client as pg.PoolClient)
  })
  pool.on('remove', (client) => open.delete(client as pg.PoolClient))
  const acquire = async (): Promise<pg.PoolClient> => {
    for (;;) {
      let client: pg.PoolClient
      try {
        client = await pool.connect()
      } catch (err) {
        throw new DatabaseUnavailableError('could not get a connection to the database', { cause: err })
      }
      if (!retirement.isRetired(client)) return client
      client.release(new Error('retired after a statement timed out'))
    }
  }
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await acquire()
      let lost: Error | undefined
      const query = async (text: string, values: unknown[]) => {
        if (lost) throw new DatabaseUnavailableError('the connection to the database was given up', { cause: lost })
        try {
          return await within(client.query(text, values), statementBound(bounds), 'a statement', () => {
            lost = new Error('statement timed out')
            retirement.retireAll()
            socketOf(client)?.destroy()
          })
        } catch (err) {
          if (postgresEngine.classify(err) !== 'connection-lost') throw err
          lost ??= err as Error
          throw err instanceof DatabaseUnavailableError ? err : new DatabaseUnavailableError('the connection to the database broke', { cause: err })
        }
      }
      return { query: query as unknown as PostgresPoolClient['query'], release: () => client.release(lost) }
    },
    end: () => endWithin(() => pool.end(), bounds.acquireMs, () => [...open].map(socketOf)),
  }
}

/** Not typed by pg: a client's socket, which pg-pool's own connect timeout destroys the same way. */
function socketOf(client: pg.PoolClient): { destroy(): void } | undefined {
  return (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream
}
