import { afterEach, describe, expect, it } from 'vitest'
import { messageId } from '../src/ids.js'
import type { OutboundMessage } from '../src/store/messages.js'
import { outboundIntake } from '../src/store/outbound-intake.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from './helpers/databases.js'

function message(id = messageId()): OutboundMessage {
  return { id, phoneNumberId: '100', to: '15551234567', type: 'text', content: { type: 'text', text: { body: id } }, shard: 0 }
}

describe.each(DIALECTS)('outbound intake (%s)', (dialect) => {
  let t: TestDatabase
  afterEach(async () => {
    await t?.cleanup()
  })

  async function setup(): Promise<TestDatabase> {
    t = await createTestDatabase(dialect)
    await t.store.numbers.create({ id: '100', cc: '1', number: '5550001', displayName: 'Shop' })
    return t
  }

  it('answers each request only once its row is committed and readable', async () => {
    const { store } = await setup()
    const intake = outboundIntake(store, 7)
    const messages = Array.from({ length: 30 }, () => message())
    const seen = await Promise.all(messages.map((m) => intake.add(m).then(() => store.messages.get(m.id))))
    expect(seen.map((row) => row?.status)).toEqual(messages.map(() => 'queued'))
    expect(seen.map((row) => row?.id)).toEqual(messages.map((m) => m.id))
    expect(store.messages.content(seen[0]!)).toEqual(messages[0]!.content)
  })

  it('fails only the request whose row cannot be inserted', async () => {
    const { store } = await setup()
    const taken = message()
    await store.messages.insertOutbound([taken])
    const intake = outboundIntake(store)
    const good = [message(), message(), message()]
    const results = await Promise.allSettled([intake.add(good[0]!), intake.add(message(taken.id)), intake.add(good[1]!), intake.add(good[2]!)])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled'])
    for (const m of good) expect((await store.messages.get(m.id))?.status).toBe('queued')
    // the duplicate did not overwrite the row that was there
    const kept = await store.messages.get(taken.id)
    expect(kept && store.messages.content(kept)).toEqual(taken.content)
    await intake.idle()
  })
})
