import type { Database } from './database.js'
import type { Sealer } from './sealer.js'

/** The at-rest key does not open what this database holds: every sealed read would fail. */
export class WrongAtRestKeyError extends Error {}

const CHECK_NAME = 'at_rest_key_check'
const CHECK_TEXT = 'wabox at-rest key check'

interface MetaTable {
  name: string
  value: Buffer
}

/**
 * Refuses a key that cannot open this database's data, before anything runs on it. The first
 * start seals a known text into `meta`; later starts open it. A database from before the check
 * is tested on data it already holds (a number's sealed Signal identity, else a message body),
 * so an upgrade does not adopt a wrong key as the right one.
 */
export async function verifyAtRestKey(database: Database, sealer: Sealer): Promise<void> {
  const db = database.db.withTables<{ meta: MetaTable }>()
  const stored = await db.selectFrom('meta').select('value').where('name', '=', CHECK_NAME).executeTakeFirst()
  const sample = stored?.value ?? (await existingSealedValue(database))
  if (sample && !opens(sealer, sample, stored ? CHECK_TEXT : undefined)) throw new WrongAtRestKeyError('the at-rest key does not open this database')
  if (stored) return
  // two processes starting at once both try; the first row wins and both keys were checked
  await database.engine.insertIgnore(db.insertInto('meta').values({ name: CHECK_NAME, value: sealer.seal(CHECK_TEXT) }), ['name']).execute()
}

async function existingSealedValue(database: Database): Promise<Buffer | undefined> {
  const identity = await database.db.selectFrom('signal_accounts').select('identity_key_pair').limit(1).executeTakeFirst()
  if (identity) return identity.identity_key_pair
  const message = await database.db.selectFrom('messages').select('content').limit(1).executeTakeFirst()
  return message?.content
}

function opens(sealer: Sealer, sealed: Buffer, expected: string | undefined): boolean {
  try {
    const plain = sealer.open(sealed)
    return expected === undefined || plain.toString('utf8') === expected
  } catch {
    return false
  }
}
