import { afterEach, describe, expect, it } from 'vitest'
import { insertCompiled, runCompiled } from '../src/store/compiled-statements.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from './helpers/databases.js'

describe.each(DIALECTS)('statements compiled once (%s)', (dialect) => {
  let t: TestDatabase
  afterEach(async () => {
    await t?.cleanup()
  })

  const statuses = async (ids: string[]) =>
    (await t.database.db.selectFrom('message_statuses').select(['message_id', 'status', 'at']).where('message_id', 'in', ids).orderBy('message_id').execute())

  it('runs a statement of the same shape again with the new values, not the first ones', async () => {
    t = await createTestDatabase(dialect)
    const { db, engine } = t.database
    const insert = (rows: { message_id: string; status: string; at: number; error: null }[]) =>
      insertCompiled(db, engine.name, 'test-statuses', rows, (r) => db.insertInto('message_statuses').values([...r]))
    await insert([{ message_id: 'a1', status: 'sent', at: 1, error: null }, { message_id: 'a2', status: 'sent', at: 2, error: null }])
    await insert([{ message_id: 'b1', status: 'delivered', at: 3, error: null }, { message_id: 'b2', status: 'read', at: 4, error: null }])
    // another row count is another statement
    await insert([{ message_id: 'c1', status: 'sent', at: 5, error: null }])
    expect(await statuses(['a1', 'a2', 'b1', 'b2', 'c1'])).toEqual([
      { message_id: 'a1', status: 'sent', at: 1 },
      { message_id: 'a2', status: 'sent', at: 2 },
      { message_id: 'b1', status: 'delivered', at: 3 },
      { message_id: 'b2', status: 'read', at: 4 },
      { message_id: 'c1', status: 'sent', at: 5 },
    ])

    const deleteIds = (ids: string[]) => runCompiled(db, engine.name, `test-delete:${ids.length}`, () => db.deleteFrom('message_statuses').where('message_id', 'in', ids), ids)
    await deleteIds(['a1', 'b2'])
    await deleteIds(['a2', 'c1'])
    expect((await statuses(['a1', 'a2', 'b1', 'b2', 'c1'])).map((r) => r.message_id)).toEqual(['b1'])
  })

  it('refuses parameters listed in another order than the SQL binds them, before running anything', async () => {
    t = await createTestDatabase(dialect)
    const { db, engine } = t.database
    await expect(runCompiled(db, engine.name, 'test-misordered', () => db.insertInto('message_statuses').values({ message_id: 'x', status: 'sent', at: 1, error: null }), ['sent', 'x', 1, null]))
      .rejects.toThrow(/not in the order/)
    expect(await statuses(['x', 'sent'])).toEqual([])
  })
})
