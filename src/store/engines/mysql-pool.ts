import type { MysqlPool, MysqlPoolConnection, MysqlQueryResult, MysqlStream, MysqlStreamOptions } from 'kysely'
import type mysql from 'mysql2'
import { DatabaseUnavailableError } from '../../errors/index.js'
import { endWithin, Retirement, statementBound, within, type DatabaseBounds } from './bounds.js'

type QueryCallback = (error: unknown, result: MysqlQueryResult) => void
type Streamed = { stream: <T>(options: MysqlStreamOptions) => MysqlStream<T> }

/**
 * mysql2's pool as Kysely sees it, with the bounds: a wait for a free connection gives up
 * after `acquireMs` (mysql2 waits forever), and a statement unanswered within the statement
 * bound destroys its connection (mysql2's own query `timeout` leaves the connection waiting
 * behind it) and retires the pool's older ones. Failing to connect, a broken connection
 * (`lost`) and a timeout all fail as DatabaseUnavailableError.
 */
export function boundedMysqlPool(pool: mysql.Pool, bounds: DatabaseBounds, lost: (err: unknown) => boolean): MysqlPool {
  const retirement = new Retirement<mysql.PoolConnection>()
  const open = new Set<mysql.PoolConnection>()
  pool.on('connection', (connection) => {
    retirement.opened(connection)
    open.add(connection)
    const gone = () => open.delete(connection)
    connection.once('end', gone).on('error', gone)
  })
  // one wrapper per connection: Kysely runs its session setup once per object it is handed
  const wrappers = new WeakMap<mysql.PoolConnection, MysqlPoolConnection>()
  const wrap = (raw: mysql.PoolConnection) => {
    let wrapper = wrappers.get(raw)
    if (!wrapper) wrappers.set(raw, (wrapper = boundedConnection(raw, bounds, lost, () => retirement.retireAll())))
    return wrapper
  }
  return {
    getConnection(callback) {
      let gaveUp = false
      const timer = setTimeout(() => {
        gaveUp = true
        callback(new DatabaseUnavailableError(`no connection to the database within ${bounds.acquireMs} ms`), undefined as never)
      }, bounds.acquireMs)
      const take = () => pool.getConnection((err, raw) => {
        if (gaveUp) return err ? undefined : raw.release()
        if (!err && retirement.isRetired(raw)) {
          raw.destroy()
          return take()
        }
        clearTimeout(timer)
        if (err) callback(new DatabaseUnavailableError('could not get a connection to the database', { cause: err }), undefined as never)
        else callback(null, wrap(raw))
      })
      take()
    },
    // a connection that failed to connect or to say goodbye is closed all the same
    end: (callback) => void endWithin(() => new Promise((resolve) => pool.end(() => resolve())), bounds.acquireMs, () => [...open].map(socketOf)).then(() => callback(null)),
  }
}

/** Not typed by mysql2: a connection's socket. */
function socketOf(connection: mysql.PoolConnection): { destroy(): void } | undefined {
  return (connection as unknown as { stream?: { destroy(): void } }).stream
}

function boundedConnection(raw: mysql.PoolConnection, bounds: DatabaseBounds, lost: (err: unknown) => boolean, retireAll: () => void): MysqlPoolConnection {
  const connection = raw as unknown as MysqlPoolConnection
  let broken: unknown
  const giveUp = () => {
    raw.destroy()
    // destroy() only half-closes: a frozen server would keep the socket open until it resumes
    socketOf(raw)?.destroy()
  }
  function query(sql: string, parameters: unknown[]): Streamed
  function query(sql: string, parameters: unknown[], callback: QueryCallback): void
  function query(sql: string, parameters: unknown[], callback?: QueryCallback): Streamed | void {
    if (!callback) return connection.query(sql, parameters)
    if (broken) return callback(new DatabaseUnavailableError('the connection to the database was given up', { cause: broken }), undefined as never)
    const answer = new Promise<{ err: unknown; result: MysqlQueryResult }>((resolve) => connection.query(sql, parameters, (err, result) => resolve({ err, result })))
    within(answer, statementBound(bounds), 'a statement', () => {
      broken = new Error('statement timed out')
      retireAll()
      giveUp()
    }).then(({ err, result }) => {
      if (err && lost(err)) {
        broken = err
        return callback(err instanceof DatabaseUnavailableError ? err : new DatabaseUnavailableError('the connection to the database broke', { cause: err }), result)
      }
      callback(err, result)
    }, (timedOut: unknown) => callback(timedOut, undefined as never))
  }
  return {
    query,
    // mysql2 dropped a broken connection from its pool already; destroying one again is harmless
    release: () => (broken ? raw.destroy() : raw.release()),
  }
}
