import { describe, expect, it } from 'vitest'
import { OutboxCursor } from '../src/coreapp/outbox-cursor.js'

describe('outbox cursor', () => {
  it('goes on after the highest seq claimed, and back for a message given back', () => {
    const c = new OutboxCursor()
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
    const c = new OutboxCursor()
    c.claiming()
    c.claimed(10)
    c.claiming()
    // a send of seq 5 fails while the claim from 10 is being read
    c.lower(4)
    c.claimed(20)
    expect(c.value).toBe(4)
  })
})
