import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { openDatabase } from '../src/store/database.js'
import { migrate } from '../src/store/migrate.js'
import { createServerDatabase } from './helpers/databases.js'

const PG_URL = process.env.WABOX_TEST_DATABASE_URL

/**
 * Several wabox schemas in one PostgreSQL database (tests, regions, staging next to
 * production): migrating one must not depend on the others staying put.
 */
describe.skipIf(!PG_URL)('migrations on a PostgreSQL database shared by other schemas', () => {
  it('succeed while other schemas are created and dropped', async () => {
    const admin = new pg.Client({ connectionString: PG_URL })
    await admin.connect()
    let churning = true
    const churn = (async () => {
      let n = 0
      while (churning) {
        const name = `churn_${randomBytes(6).toString('hex')}`
        await admin.query(`CREATE SCHEMA ${name}`)
        await admin.query(`CREATE TABLE ${name}.t (id serial primary key, v text)`)
        await admin.query(`DROP SCHEMA ${name} CASCADE`)
        n++
      }
      return n
    })()
    try {
      for (let i = 0; i < 4; i++) {
        const server = await createServerDatabase('postgres', 'migrate-churn')
        const database = openDatabase(server.options)
        try {
          expect((await migrate(database)).length).toBeGreaterThan(0)
        } finally {
          await database.close()
          await server.drop()
        }
      }
    } finally {
      churning = false
      expect(await churn).toBeGreaterThan(0)
      await admin.end()
    }
  }, 120_000)
})
