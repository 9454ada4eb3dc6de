import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { afterAll, beforeAll, describe } from 'vitest'
import { TestClock } from '../../src/clock.js'
import { openDatabase, type Database, type Dialect } from '../../src/store/database.js'
import { migrate } from '../../src/store/migrate.js'
import { Sealer } from '../../src/store/sealer.js'
import { Store } from '../../src/store/store.js'

const PG_URL = process.env.WABOX_TEST_DATABASE_URL
const MYSQL_URL = process.env.WABOX_TEST_MYSQL_URL

if (!PG_URL) {
  if (process.env.CI) throw new Error('WABOX_TEST_DATABASE_URL must be set in CI: the PostgreSQL suite may not be skipped')
  console.warn('[wabox tests] WABOX_TEST_DATABASE_URL is not set: PostgreSQL suite SKIPPED')
}
if (!MYSQL_URL) {
  if (process.env.CI) throw new Error('WABOX_TEST_MYSQL_URL must be set in CI: the MariaDB suite may not be skipped')
  console.warn('[wabox tests] WABOX_TEST_MYSQL_URL is not set: MySQL/MariaDB suite SKIPPED')
}

export const DIALECTS: Dialect[] = ['sqlite', ...(PG_URL ? ['postgres' as const] : []), ...(MYSQL_URL ? ['mysql' as const] : [])]

export interface TestDatabase {
  database: Database
  store: Store
  clock: TestClock
  sealer: Sealer
  /** SQLite file (sqlite only), for tests that read the bytes on disk. */
  file?: string
  /** Where a PostgreSQL or MySQL test database is, for child processes (fixtureDatabaseEnv). */
  server?: ServerDatabase['options']
  dir: string
  /** Opens a second, independent connection to the same database (another "process"). */
  reopen(): Database
  cleanup(): Promise<void>
}

/**
 * A fresh, migrated database of the given dialect: a temp SQLite file, an own PostgreSQL schema
 * or an own MySQL database.
 */
export async function createTestDatabase(dialect: Dialect, options: { migrateTo?: string; label?: string } = {}): Promise<TestDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-test-'))
  const clock = new TestClock()
  const sealer = new Sealer(randomBytes(32))
  if (dialect === 'sqlite') {
    const file = path.join(dir, 'wabox.db')
    const open = () => openDatabase({ sqlitePath: file })
    const database = open()
    await migrate(database, options.migrateTo)
    return {
      database, store: Store.open(database, sealer, clock), clock, sealer, file, dir, reopen: open,
      cleanup: async () => {
        await database.close()
        fs.rmSync(dir, { recursive: true, force: true })
      },
    }
  }
  const server = await createServerDatabase(dialect, options.label)
  const open = () => openDatabase(server.options)
  const database = open()
  await migrate(database, options.migrateTo)
  return {
    database, store: Store.open(database, sealer, clock), clock, sealer, dir, reopen: open, server: server.options,
    cleanup: async () => {
      await database.close()
      await server.drop()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** An empty PostgreSQL schema or MySQL database of its own, for a suite or a child process. */
export interface ServerDatabase {
  /** How to open it (`openDatabase(options)`). */
  options: { url: string; schema?: string; poolSize: number }
  /** A URL that names it alone, for `wabox --database-url` (PostgreSQL: the schema as search_path). */
  url: string
  drop(): Promise<void>
}

export async function createServerDatabase(dialect: Exclude<Dialect, 'sqlite'>, label = ''): Promise<ServerDatabase> {
  const name = 't_' + createHash('sha1').update(`${label}${randomBytes(8).toString('hex')}`).digest('hex').slice(0, 16)
  if (dialect === 'mysql') {
    if (!MYSQL_URL) throw new Error('MySQL/MariaDB is not configured (WABOX_TEST_MYSQL_URL)')
    await mysqlAdmin(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`)
    markRun('WABOX_MYSQL_MARKER')
    const url = new URL(MYSQL_URL)
    url.pathname = `/${name}`
    return { options: { url: url.toString(), poolSize: 4 }, url: url.toString(), drop: () => mysqlAdmin(`DROP DATABASE ${name}`) }
  }
  if (!PG_URL) throw new Error('PostgreSQL is not configured (WABOX_TEST_DATABASE_URL)')
  await pgAdmin(`CREATE SCHEMA ${name}`)
  markRun('WABOX_PG_MARKER')
  const url = new URL(PG_URL)
  url.searchParams.set('options', `-c search_path=${name}`)
  return { options: { url: PG_URL, schema: name, poolSize: 4 }, url: url.toString(), drop: () => pgAdmin(`DROP SCHEMA ${name} CASCADE`) }
}

async function pgAdmin(statement: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL })
  await c.connect()
  try {
    await c.query(statement)
  } finally {
    await c.end()
  }
}

async function mysqlAdmin(statement: string): Promise<void> {
  // the server, not the URL's database: it may not exist yet
  const server = new URL(MYSQL_URL ?? '')
  server.pathname = '/'
  const c = await mysql.createConnection({ uri: server.toString() })
  try {
    await c.query(statement)
  } finally {
    await c.end()
  }
}

/** Records that a server-backed test ran, so CI can prove that engine's suite was not skipped. */
function markRun(env: 'WABOX_PG_MARKER' | 'WABOX_MYSQL_MARKER'): void {
  const marker = process.env[env]
  if (marker) fs.appendFileSync(marker, `${process.pid}\n`)
}

/**
 * Runs a suite once per dialect, each with its own fresh database.
 * Usage: `describeEachDatabase('messages', (ctx) => { it('…', async () => { ctx().store… }) })`.
 */
export function describeEachDatabase(title: string, body: (ctx: () => TestDatabase, dialect: Dialect) => void): void {
  for (const dialect of DIALECTS) {
    describe(`${title} [${dialect}]`, () => {
      let current: TestDatabase | undefined
      beforeAll(async () => {
        current = await createTestDatabase(dialect, { label: title })
      })
      afterAll(async () => {
        await current?.cleanup()
      })
      body(() => {
        if (!current) throw new Error('database not ready')
        return current
      }, dialect)
    })
  }
}
