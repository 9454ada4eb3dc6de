import { describe, expect, it } from 'vitest'
import { TestClock } from '../src/clock.js'
import { messageId } from '../src/ids.js'

describe('message ids', () => {
  it('are wamid. and 22 base64url characters, all distinct even when made in the same millisecond', () => {
    const clock = new TestClock(1_700_000_000_000)
    const ids = Array.from({ length: 100_000 }, () => messageId(clock))
    for (const id of ids.slice(0, 1000)) expect(id).toMatch(/^wamid\.[A-Za-z0-9_-]{22}$/)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('made close in time share a prefix, so they sit together in an index', () => {
    // a millisecond count whose lowest byte is 0: 3 ms later only that byte differs
    const clock = new TestClock(1_700_000_000_000 - (1_700_000_000_000 % 256))
    const first = messageId(clock)
    clock.tick(3)
    const later = messageId(clock)
    // process tag (4 bytes) and the upper time bytes: the first 10 characters after `wamid.`
    expect(later.slice(0, 6 + 10)).toBe(first.slice(0, 6 + 10))
    expect(later).not.toBe(first)
  })
})
