import { afterEach, describe, expect, it } from 'vitest'
import type { CallbackEvent } from '../src/domain/events.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from './helpers/databases.js'

describe.each(DIALECTS)('Callbacks.enqueueMany in bulk (%s)', (dialect) => {
  let t: TestDatabase
  afterEach(async () => {
    await t?.cleanup()
  })

  it('queues every event of a batch larger than one INSERT carries', async () => {
    t = await createTestDatabase(dialect)
    await t.store.numbers.create({ id: '100', cc: '1', number: '5550001', displayName: 'Shop' })
    const events: CallbackEvent[] = Array.from({ length: 5000 }, (_, i) => ({
      type: 'status', status: { id: `m${i}`, recipient_id: '15551234567', status: 'delivered', timestamp: '1' },
    }))
    await t.store.transaction((tx) => tx.callbacks.enqueueMany('100', events))
    expect(await t.store.callbacks.pendingCount('100')).toBe(5000)
    const ids: string[] = []
    for (let after: number | null | undefined; after !== null;) {
      const page = await t.store.callbacks.list('100', 'pending', { limit: 500, ...(after === undefined ? {} : { after }) })
      for (const item of page.items) ids.push(item.event?.type === 'status' ? item.event.status.id : '?')
      after = page.next
    }
    expect(ids).toEqual(events.map((e) => (e.type === 'status' ? e.status.id : '')))
  })
})
