import { pino } from 'pino'
import { afterEach, expect, it, vi } from 'vitest'
import { startNodeBeat } from '../src/cli/compose/node-beat.js'
import type { Store } from '../src/store/store.js'

afterEach(() => {
  vi.useRealTimers()
})

it('a stop after a database freeze waits for the one heartbeat in flight, not one queued per interval of the freeze', async () => {
  vi.useFakeTimers()
  let beats = 0
  let thaw = (): void => undefined
  const frozen = new Promise<void>((resolve) => (thaw = resolve))
  const removed: string[] = []
  const store = {
    nodes: {
      // the first beat answers; the next waits until the database answers again
      heartbeat: async () => (++beats > 1 ? frozen : undefined),
      remove: async (id: string) => {
        removed.push(id)
      },
    },
  } as unknown as Store
  const beat = await startNodeBeat(store, { id: 'api-1', kind: 'webapp' }, pino({ level: 'silent' }), 2000)
  // a freeze of 60 s: 30 intervals, each of which would wait out the database bound at shutdown
  await vi.advanceTimersByTimeAsync(60_000)
  thaw()
  await beat.stop()
  expect(beats).toBe(2)
  expect(removed).toEqual(['api-1'])
})
