import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe } from 'vitest'
import { TestClock } from '../../src/clock.js'
import { openDatabase, type Database, type Dialect } from '../../src/store/database.js'
import { migrate } from '../../src/store/migrate.js'
import { Sealer } from '../../src/store/sealer.js'
import { Store } from '../../src/store/store.js'

const PG_URL = process.env.WABOX_TEST_DATABASE_URL

if (!PG_URL) {
  if (process.env.CI) throw new Error('WABOX_TEST_DATABASE_URL must be set in CI: the PostgreSQL suite may not be skipped')
  console.warn('[wabox tests] WABOX_TEST_DATABASE_URL is not set: PostgreSQL suite SKIPPED, SQLite only')
}

export const DIALECTS: Dialect[] = PG_URL ? ['sqlite', 'postgres'] : ['sqlite']

export interface TestDatabase {
  database: Database
  store: Store
  clock: TestClock
  sealer: Sealer
  /** SQLite file (sqlite only), for tests that read the bytes on disk. */
  file?: string
  dir: string
  /** Opens a second, independent connection to the same database (another "process"). */
  reopen(): Database
  cleanup(): Promise<void>
}

/** A fresh, migrated database of the given dialect: a temp SQLite file or an own PostgreSQL schema. */
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
  if (!PG_URL) throw new Error('PostgreSQL is not configured')
  const schema = 't_' + createHash('sha1').update(`${options.label ?? ''}${randomBytes(8).toString('hex')}`).digest('hex').slice(0, 16)
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  await admin.query(`CREATE SCHEMA ${schema}`)
  await admin.end()
  markPostgresRun()
  const open = () => openDatabase({ url: PG_URL, schema, poolSize: 4 })
  const database = open()
  await migrate(database, options.migrateTo)
  return {
    database, store: Store.open(database, sealer, clock), clock, sealer, dir, reopen: open,
    cleanup: async () => {
      await database.close()
      const c = new pg.Client({ connectionString: PG_URL })
      await c.connect()
      await c.query(`DROP SCHEMA ${schema} CASCADE`)
      await c.end()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Records that a PostgreSQL test ran, so CI can prove the suite was not skipped. */
function markPostgresRun(): void {
  const marker = process.env.WABOX_PG_MARKER
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
