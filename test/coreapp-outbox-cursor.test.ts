import { describe, expect, it } from 'vitest'
import { OutboxCursor } from '../src/coreapp/outbox-cursor.js'

describe('outbox cursor', () => {
  it('goes on after the highest seq claimed, and back for a message given back', () => {
    const c = new OutboxCursor(true)
    c.claiming()
    c.claimed(10)
    expect(c.value).toBe(10)
    c.lower(3)
    c.claiming()
    expect(c.value).toBe(3)
    c.claimed(12)
    expect(c.value).toBe(12)
  })

  it('keeps a message given back while a claim was under way, whatever that claim returns', () => {
    const c = new OutboxCursor(true)
    c.claiming()
    c.claimed(10)
    c.claiming()
    // a send of seq 5 fails while the claim from 10 is being read
    c.lower(4)
    c.claimed(20)
    expect(c.value).toBe(4)
  })

  it('where rows commit in seq order, a poll keeps the cursor; every fiftieth claims from the start', () => {
    const c = new OutboxCursor(true)
    c.claiming()
    c.claimed(100)
    for (let poll = 1; poll < 50; poll++) {
      c.beforePoll()
      expect(c.value).toBe(100)
    }
    c.beforePoll()
    expect(c.value).toBe(0)
  })

  it('where a row can commit below a claimed seq, a poll claims again from the cursor of five polls back', () => {
    const c = new OutboxCursor(false)
    const seen: number[] = []
    for (let poll = 1; poll <= 8; poll++) {
      c.claiming()
      c.claimed(poll * 10)
      c.beforePoll()
      seen.push(c.value)
    }
    // the first five polls have no mark that old: from the start; then the cursor of poll n - 5
    expect(seen).toEqual([0, 0, 0, 0, 0, 10, 20, 30])
  })
})
