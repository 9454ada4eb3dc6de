import { describe, expect, it } from 'vitest'
import { BatchWriter } from '../src/store/batch-writer.js'

describe('BatchWriter (group commit)', () => {
  it('writes items added in one turn as one batch and resolves each after its batch is written', async () => {
    const written: number[][] = []
    const writer = new BatchWriter<number>(async (items) => {
      written.push(items)
    }, { maxBatch: 3 })
    const done = await Promise.all([1, 2, 3, 4, 5].map((n) => writer.add(n).then(() => written.flat().includes(n))))
    expect(done).toEqual([true, true, true, true, true])
    expect(written).toEqual([[1, 2, 3], [4, 5]])
  })

  it('replays a failed batch item by item, so only the bad item fails', async () => {
    const written: number[] = []
    const failures: number[] = []
    const writer = new BatchWriter<number>(async (items) => {
      if (items.includes(13)) throw new Error('bad item')
      written.push(...items)
    }, { maxBatch: 10, onBatchFailed: (_err, n) => failures.push(n) })
    const results = await Promise.allSettled([11, 12, 13, 14].map((n) => writer.add(n)))
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    expect(written).toEqual([11, 12, 14])
    expect(failures).toEqual([4])
  })
})
