import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import pino from 'pino'
import { afterEach, beforeEach } from 'vitest'
import { Housekeeper } from '../../src/coreapp/housekeeping.js'
import { messageId } from '../../src/ids.js'
import { MediaVolume } from '../../src/media/volume.js'
import type { TestDatabase } from './databases.js'

/** A Housekeeper (batches of 2) over a fresh media volume for each test, and the writes its tests need. */
export function housekeepingFixture(ctx: () => TestDatabase) {
  let dir: string
  let media: MediaVolume
  let keeper: Housekeeper
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-housekeeping-'))
    media = new MediaVolume({ root: path.join(dir, 'media'), key: randomBytes(32), store: ctx().store })
    keeper = new Housekeeper({ store: ctx().store, media, clock: ctx().clock, logger: pino({ level: 'silent' }), batchSize: 2 })
  })
  afterEach(async () => {
    await keeper.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  /** An inbound text message with its (pending) callback, as the CoreApp writes them. */
  async function receive(phoneNumberId: string, body = 'hi'): Promise<string> {
    const id = messageId()
    const message = { from: '15552000', id, timestamp: '1', type: 'text', text: { body } }
    await ctx().store.transaction(async (tx) => {
      await tx.inbound.persist([{ phoneNumberId, envelopeId: id, messageId: id, peer: '15552000', shard: 0, type: 'text', message, receivedAt: ctx().clock.now() }])
      await tx.callbacks.enqueue(phoneNumberId, { type: 'message', contact: { wa_id: '15552000', profile: { name: 'Ann' } }, message })
    })
    return id
  }

  /** Answers 200 to every pending callback of the number. */
  async function deliverCallbacks(phoneNumberId: string): Promise<void> {
    const claimed = await ctx().store.callbacks.claim(phoneNumberId, 100, 60_000, 'test')
    await ctx().store.callbacks.record(claimed.map((c) => ({
      seq: c.seq, phoneNumberId, at: ctx().clock.now(), httpStatus: 200, latencyMs: 1, error: null, next: { kind: 'done' as const },
    })), 'test')
  }

  return { keeper: () => keeper, media: () => media, receive, deliverCallbacks }
}
