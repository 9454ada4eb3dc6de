import { expect, it } from 'vitest'
import { describeEachDatabase } from './helpers/databases.js'
import { addNumber } from './webhooks-harness.js'

// the one-statement forms PostgreSQL gets (unnest inserts, a data-modifying WITH) against the
// statement-per-step forms of the other engines: same rows, same results
describeEachDatabase('bulk statements', (ctx) => {
  it('inserts any number of outbound messages, with and without echo data, in one call', async () => {
    const { store } = ctx()
    const id = await addNumber(store, {})
    const messages = Array.from({ length: 203 }, (_, i) => ({
      id: `wamid.bulk${i}`, phoneNumberId: id, to: `1555${i}`, type: 'text', shard: i % 3,
      content: i % 2 ? { type: 'text', text: { body: `m${i}` }, biz_opaque_callback_data: `d${i}` } : { type: 'text', text: { body: `m${i}` } },
      ...(i % 5 === 0 ? { category: 'utility', expiresAt: 10_000 + i } : {}),
    }))
    await store.messages.insertOutbound(messages)
    for (const i of [0, 1, 202]) {
      const row = (await store.messages.get(`wamid.bulk${i}`))!
      expect(row).toMatchObject({ peer: `1555${i}`, status: 'queued', shard: i % 3, direction: 'out', category: i % 5 === 0 ? 'utility' : null, expires_at: i % 5 === 0 ? 10_000 + i : null, conversation_id: null })
      expect(store.messages.content(row)).toEqual(messages[i]!.content)
      expect(row.callback_data === null).toBe(i % 2 === 0)
    }
  })

  it('moves messages forward and records each one\'s own time once; a message that cannot move is left out', async () => {
    const { store } = ctx()
    const id = await addNumber(store, {})
    await store.messages.insertOutbound(['a', 'b', 'c'].map((m) => ({ id: `wamid.t${m}`, phoneNumberId: id, to: '15550009', type: 'text', shard: 0, content: { type: 'text', text: { body: m } } })))
    const delivered = await store.transaction((tx) => tx.outbox.transitionRecorded(new Map([['wamid.ta', 5], ['wamid.tb', 7]]), 'delivered'))
    expect(delivered.map((m) => m.id).sort()).toEqual(['wamid.ta', 'wamid.tb'])
    expect(delivered[0]).toMatchObject({ phoneNumberId: id, peer: '15550009', conversationId: null, callbackData: null })
    // sent after delivered is no move; c moves
    const sent = await store.outbox.transitionRecorded(new Map([['wamid.ta', 9], ['wamid.tc', 9]]), 'sent')
    expect(sent.map((m) => m.id)).toEqual(['wamid.tc'])
    expect(await store.outbox.statuses('wamid.tb')).toEqual([{ status: 'delivered', at: 7, error: null }])
    expect(await store.outbox.statuses('wamid.ta')).toEqual([{ status: 'delivered', at: 5, error: null }])
    expect(await store.outbox.statuses('wamid.tc')).toEqual([{ status: 'sent', at: 9, error: null }])
    expect((await store.messages.get('wamid.tb'))).toMatchObject({ status: 'delivered', updated_at: 7 })
    expect(await store.outbox.transitionRecorded(new Map([['wamid.ta', 11]]), 'delivered')).toEqual([])
  })

  it('stores ciphertexts and sets the category only of the messages that have one', async () => {
    const { store } = ctx()
    const id = await addNumber(store, {})
    await store.messages.insertOutbound(['x', 'y'].map((m) => ({ id: `wamid.e${m}`, phoneNumberId: id, to: '15550010', type: 'text', shard: 0, category: 'service', content: { type: 'text', text: { body: m } } })))
    await store.transaction((tx) => tx.outbox.saveEnvelopes([
      { messageId: 'wamid.ex', phoneNumberId: id, peer: '15550010', kind: 'prekey', body: new Uint8Array([1, 2, 3]), category: 'marketing', businessInitiated: true },
      { messageId: 'wamid.ey', phoneNumberId: id, peer: '15550010', kind: 'message', body: new Uint8Array([4]), category: null, businessInitiated: false },
    ]))
    const queued = await store.outbox.claimQueued(id, [0], 0, 10)
    expect(queued.map((q) => [q.id, q.category, q.envelope && { ...q.envelope, body: [...q.envelope.body] }])).toEqual([
      ['wamid.ex', 'marketing', { kind: 'prekey', body: [1, 2, 3], category: 'marketing', businessInitiated: true }],
      ['wamid.ey', 'service', { kind: 'message', body: [4], category: null, businessInitiated: false }],
    ])
    expect(await store.outbox.envelopeCount(id)).toBe(2)
  })
})
