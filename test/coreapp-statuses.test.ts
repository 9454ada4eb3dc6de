import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { CommitQueue } from '../src/coreapp/commit-queue.js'
import { StatusWriter, type StatusUpdate } from '../src/coreapp/statuses.js'
import type { Store } from '../src/store/store.js'

const logger = pino({ level: 'silent' })

/** A store that records its transactions; each `tx` has an outbox that records what it was asked. */
function countingStore() {
  const transactions: { envelopeDeletes: number[] }[] = []
  const store = {
    transaction: async <T>(fn: (tx: Store) => Promise<T>): Promise<T> => {
      const record = { envelopeDeletes: [] as number[] }
      transactions.push(record)
      const tx = {
        outbox: {
          // no message changes status: only the envelope deletion of each unit is seen
          transitionRecorded: async () => [],
          deleteEnvelopes: async (ids: string[]) => void record.envelopeDeletes.push(ids.length),
        },
      }
      return fn(tx as unknown as Store)
    },
  }
  return { store: store as unknown as Store, transactions }
}

const updates = (from: number, n: number): StatusUpdate[] => Array.from({ length: n }, (_, i) => ({ messageId: `m${from + i}`, status: 'delivered', at: 1 }))

describe('StatusWriter', () => {
  it('writes at most 1024 status changes per transaction, each caller\'s in one', async () => {
    const { store, transactions } = countingStore()
    const statuses = new StatusWriter(new CommitQueue(store, logger, { lingerMs: 1 }), () => undefined)
    await Promise.all([statuses.add(updates(0, 600)), statuses.add(updates(600, 600)), statuses.add(updates(1200, 30))])
    // the second caller's 600 do not fit beside the first's: they go with the third's 30
    expect(transactions.map((t) => t.envelopeDeletes)).toEqual([[600], [630]])
  })

  it('goes on after a transaction that could not begin: its callers fail, later ones are written', async () => {
    const { store, transactions } = countingStore()
    let down = true
    const flaky = { transaction: <T>(fn: (tx: Store) => Promise<T>): Promise<T> => (down ? Promise.reject(new Error('database unreachable')) : store.transaction(fn)) }
    const statuses = new StatusWriter(new CommitQueue(flaky as unknown as Store, logger, { lingerMs: 1 }), () => undefined)
    await expect(statuses.add(updates(0, 3))).rejects.toThrow('database unreachable')
    down = false
    await statuses.add(updates(3, 2))
    expect(transactions.map((t) => t.envelopeDeletes)).toEqual([[2]])
  })
})
