import path from 'node:path'
import { Kysely } from 'kysely'
import { privateDir } from '../../private-files.js'
import { WaboxSqliteDialect } from '../../sqlite-dialect.js'
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
  commitsInKeyOrder: true,
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
