import { describe, expect, it } from 'vitest'
import { messageId } from '../src/ids.js'
import { shardOf } from '../src/domain/shard.js'
import { BUSINESS, startHarness, waitFor } from './coreapp-harness.js'
import { DIALECTS } from './helpers/databases.js'

// PostgreSQL and MySQL commit concurrent inserts out of sequence order; SQLite serialises them.
for (const dialect of DIALECTS.filter((d) => d !== 'sqlite')) describe(`CoreApp outbound and commit order [${dialect}]`, () => {
  it('sends a message that committed after a later-numbered one was already sent', async () => {
    const h = await startHarness(dialect, { phones: 1 })
    try {
      const phone = h.phones[0]!
      await phone.send({ to: BUSINESS.waId, type: 'text', text: 'open the window' })
      await waitFor(async () => (await h.callbacks()).some((e) => e.type === 'message'), 'the inbound message')
      const row = (id: string, body: string) => ({
        id, phoneNumberId: BUSINESS.id, to: phone.waId, type: 'text', content: { to: phone.waId, type: 'text', text: { body } }, shard: shardOf(phone.waId, 1),
      })
      const early = messageId()
      const received = (id: string) => new Promise<void>((resolve) => {
        const done = () => {
          phone.off('message', onMessage)
          resolve()
        }
        const onMessage = (view: { id: string }) => view.id === id && done()
        phone.on('message', onMessage)
        // it may have arrived before the listener was added
        void phone.inbox().then((inbox) => inbox.some((m) => m.id === id) && done())
      })
      // `early` takes the lower seq but commits only after `late` was claimed and sent
      await h.store.transaction(async (tx) => {
        await tx.messages.insertOutbound([row(early, 'first taken, last committed')])
        const late = await h.queue({ to: phone.waId, type: 'text', text: { body: 'committed first' } })
        await received(late)
      })
      h.app.wake()
      await waitFor(async () => (await phone.inbox()).some((m) => m.id === early), 'the late-committed message on the phone')
      expect((await phone.inbox()).filter((m) => m.id === early)).toHaveLength(1)
    } finally {
      await h.cleanup()
    }
  })
})
