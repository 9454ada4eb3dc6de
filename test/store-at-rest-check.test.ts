import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { verifyAtRestKey, WrongAtRestKeyError } from '../src/store/at-rest-check.js'
import { migrate } from '../src/store/migrate.js'
import { Sealer } from '../src/store/sealer.js'
import { createTestDatabase, DIALECTS } from './helpers/databases.js'

for (const dialect of DIALECTS) {
  describe(`at-rest key check [${dialect}]`, () => {
    it('the key of the first start opens the database later; any other key is refused', async () => {
      const t = await createTestDatabase(dialect)
      try {
        await verifyAtRestKey(t.database, t.sealer)
        await verifyAtRestKey(t.database, t.sealer)
        await expect(verifyAtRestKey(t.database, new Sealer(randomBytes(32)))).rejects.toThrow(WrongAtRestKeyError)
        // and the refusal did not replace the check value
        await verifyAtRestKey(t.database, t.sealer)
      } finally {
        await t.cleanup()
      }
    })

    it('a database from before the check is tested on the data it holds, so an upgrade with a wrong key is refused', async () => {
      const t = await createTestDatabase(dialect, { migrateTo: '0005-callback-data' })
      try {
        await t.store.numbers.create({ id: 'pn-old', cc: '1', number: '5550199', displayName: 'Old' })
        await t.store.messages.insertOutbound([{ id: 'wamid.old', phoneNumberId: 'pn-old', to: '15550001', type: 'text', content: { text: { body: 'x' } }, shard: 0 }])
        await migrate(t.database)
        await expect(verifyAtRestKey(t.database, new Sealer(randomBytes(32)))).rejects.toThrow(WrongAtRestKeyError)
        await verifyAtRestKey(t.database, t.sealer)
        await expect(verifyAtRestKey(t.database, new Sealer(randomBytes(32)))).rejects.toThrow(WrongAtRestKeyError)
      } finally {
        await t.cleanup()
      }
    })
  })
}
