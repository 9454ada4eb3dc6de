import { expect, it } from 'vitest'
import { applyStatuses } from '../src/coreapp/statuses.js'
import type { CallbackEvent, StatusEvent } from '../src/domain/events.js'
import { messageId } from '../src/ids.js'
import { emptySignalChanges } from '../src/store/signal-state.js'
import { describeEachDatabase } from './helpers/databases.js'

const NUMBER = 'pn-store'
const HOUR = 3600_000

describeEachDatabase('coreapp store', (ctx) => {
  const setup = async () => {
    const { store } = ctx()
    if (!(await store.numbers.get(NUMBER))) {
      await store.numbers.create({ id: NUMBER, cc: '1', number: '5550111', displayName: 'Store' })
      await store.numbers.saveSettings(NUMBER, { sent_status: true })
    }
    return ctx()
  }
  const queue = async (to: string, shard = 0, content: Record<string, unknown> = {}) => {
    const id = messageId()
    await ctx().store.messages.insertOutbound([{ id, phoneNumberId: NUMBER, to, type: 'text', content: { to, type: 'text', text: { body: 'x' }, ...content }, shard }])
    return id
  }
  const statusCallbacks = async (id: string) => {
    const { store } = ctx()
    const rows = await store.ctx.db.selectFrom('callbacks').select('payload').where('phone_number_id', '=', NUMBER).orderBy('seq').execute()
    return rows.map((r) => store.ctx.sealer.openJson<CallbackEvent>(r.payload)).filter((e): e is StatusEvent => e.type === 'status' && e.status.id === id).map((e) => e.status)
  }

  it('gives a shard lease to one owner until it expires unrenewed', async () => {
    const { store, clock } = await setup()
    expect(await store.shardLeases.acquire(NUMBER, 0, 'a', 1000)).toBe(true)
    expect(await store.shardLeases.acquire(NUMBER, 0, 'b', 1000)).toBe(false)
    expect(await store.shardLeases.acquire(NUMBER, 1, 'b', 1000)).toBe(true)
    clock.tick(600)
    expect(await store.shardLeases.renew('a', 1000)).toEqual([{ phoneNumberId: NUMBER, shard: 0 }])
    clock.tick(600)
    // a renewed at +600, so at +1200 its lease still runs; b's (taken at 0) has lapsed
    expect(await store.shardLeases.acquire(NUMBER, 0, 'b', 1000)).toBe(false)
    expect(await store.shardLeases.renew('b', 1000)).toEqual([])
    clock.tick(1000)
    expect(await store.shardLeases.acquire(NUMBER, 0, 'b', 1000)).toBe(true)
    expect(await store.shardLeases.renew('a', 1000)).toEqual([])
    expect((await store.shardLeases.list(NUMBER)).map((l) => [l.shard, l.owner])).toEqual([[0, 'b'], [1, 'b']])
    await store.shardLeases.dropBeyond(NUMBER, 1)
    await store.shardLeases.release('b', NUMBER, [0])
    expect(await store.shardLeases.list(NUMBER)).toEqual([])
  })

  it('claims queued messages in order, per shard, with their stored ciphertext', async () => {
    const { store } = await setup()
    const a = await queue('111', 0)
    const b = await queue('222', 1)
    const c = await queue('111', 0)
    await store.outbox.saveEnvelopes([{ messageId: c, phoneNumberId: NUMBER, peer: '111', kind: 'message', body: new Uint8Array([1, 2, 3]), category: 'marketing', businessInitiated: true }])
    const claimed = await store.outbox.claimQueued(NUMBER, [0], 0, 10)
    expect(claimed.map((m) => m.id)).toEqual([a, c])
    expect(claimed[0]!.envelope).toBeNull()
    expect(claimed[1]!.envelope).toEqual({ kind: 'message', body: new Uint8Array([1, 2, 3]), category: 'marketing', businessInitiated: true })
    expect((await store.messages.get(c))?.category).toBe('marketing')
    expect((await store.outbox.claimQueued(NUMBER, [0, 1], claimed[0]!.seq, 10)).map((m) => m.id)).toEqual([b, c])
    expect(await store.outbox.claimQueued(NUMBER, [], 0, 10)).toEqual([])
    await store.outbox.reshard(NUMBER, (peer) => (peer === '111' ? 1 : 0))
    expect((await store.outbox.claimQueued(NUMBER, [1], 0, 10)).map((m) => m.id)).toEqual([a, c])
    for (const id of [a, b, c]) await store.outbox.fail(id, [{ code: 500, title: 'x' }], 1)
  })

  it('moves statuses forward only and writes one callback per change', async () => {
    const { store, clock } = await setup()
    const id = await queue('333', 0, { biz_opaque_callback_data: 'ref-1' })
    const now = clock.now()
    await store.transaction((tx) => applyStatuses(tx, [{ messageId: id, status: 'read', at: now }]))
    // a late delivered receipt and a failure after delivery change nothing
    await store.transaction((tx) => applyStatuses(tx, [
      { messageId: id, status: 'delivered', at: now + 5 },
      { messageId: id, status: 'failed', at: now + 6, failure: { code: 500, details: 'late' } },
    ]))
    const statuses = await statusCallbacks(id)
    // read implies delivered
    expect(statuses.map((s) => s.status)).toEqual(['delivered', 'read'])
    expect(statuses.every((s) => s.biz_opaque_callback_data === 'ref-1')).toBe(true)
    expect((await store.outbox.statuses(id)).map((s) => s.status)).toEqual(['delivered', 'read'])
    expect((await store.messages.get(id))?.status).toBe('read')

    const failing = await queue('333')
    await store.transaction((tx) => applyStatuses(tx, [{ messageId: failing, status: 'failed', at: now, failure: { code: 429, details: 'pair', cloudCode: 131056 } }]))
    expect((await statusCallbacks(failing))[0]).toMatchObject({ status: 'failed', errors: [{ code: 429, title: 'Rate limit hit', details: 'pair', cloud_code: 131056 }] })
    expect(JSON.parse((await store.messages.get(failing))!.error!)).toEqual([{ code: 429, title: 'Rate limit hit', details: 'pair', cloud_code: 131056 }])
  })

  it('opens a conversation per user and category on first delivery, for 24 hours', async () => {
    const { store, clock } = await setup()
    const send = async (peer: string, category: string) => {
      const id = await queue(peer)
      await store.outbox.saveEnvelopes([{ messageId: id, phoneNumberId: NUMBER, peer, kind: 'message', body: new Uint8Array(1), category, businessInitiated: category !== 'service' }])
      await store.transaction((tx) => applyStatuses(tx, [{ messageId: id, status: 'sent', at: clock.now() }]))
      await store.transaction((tx) => applyStatuses(tx, [{ messageId: id, status: 'delivered', at: clock.now() }]))
      const statuses = await statusCallbacks(id)
      return { sent: statuses.find((s) => s.status === 'sent')!, delivered: statuses.find((s) => s.status === 'delivered')! }
    }
    const first = await send('444', 'marketing')
    expect(first.sent.conversation).toBeUndefined()
    expect(first.sent.pricing).toEqual({ billable: true, pricing_model: 'CBP', category: 'marketing' })
    const conversation = first.delivered.conversation!
    expect(conversation).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/), expiration_timestamp: String(Math.floor((clock.now() + 24 * HOUR) / 1000)), origin: { type: 'marketing' } })

    clock.tick(HOUR)
    const same = await send('444', 'marketing')
    expect(same.sent.conversation?.id).toBe(conversation.id)
    expect(same.delivered.conversation?.id).toBe(conversation.id)
    expect((await send('444', 'service')).delivered.conversation?.id).not.toBe(conversation.id)
    expect((await send('555', 'marketing')).delivered.conversation?.id).not.toBe(conversation.id)
    clock.tick(24 * HOUR)
    expect((await send('444', 'marketing')).delivered.conversation?.id).not.toBe(conversation.id)
    expect((await store.conversations.list(NUMBER)).filter((c) => c.wa_id === '444')).toHaveLength(3)
  })

  it('keeps Signal state sealed at rest; one-time keys go, last-resort keys stay; key ids are reserved atomically', async () => {
    const { store } = await setup()
    const secret = Buffer.from('private-session-bytes')
    const changes = emptySignalChanges()
    changes.local = { identityKeyPair: Buffer.from('identity-pair'), registrationId: 7, nextKeyId: 10 }
    changes.sessions.set('666', secret)
    changes.remoteIdentities.set('666', { publicKey: Buffer.from('pub'), firstSeenAt: 5 })
    changes.preKeys.set(1, Buffer.from('pre-1'))
    changes.kyberPreKeys.set(2, { record: Buffer.from('kyber-last-resort'), lastResort: true })
    changes.kyberPreKeys.set(3, { record: Buffer.from('kyber-one-time'), lastResort: false })
    changes.signedPreKeys.set(4, Buffer.from('signed'))
    await store.transaction((tx) => tx.signal.apply(NUMBER, changes))
    expect(Buffer.from((await store.signal.session(NUMBER, '666'))!)).toEqual(secret)
    const raw = await store.ctx.db.selectFrom('signal_sessions').select('record').where('address', '=', '666').executeTakeFirstOrThrow()
    expect(raw.record.includes(secret)).toBe(false)
    expect(await store.signal.local(NUMBER)).toMatchObject({ registrationId: 7, nextKeyId: 10 })

    const used = emptySignalChanges()
    used.preKeys.set(1, null)
    used.kyberPreKeys.set(2, null)
    used.kyberPreKeys.set(3, null)
    used.sessions.set('666', null)
    await store.signal.apply(NUMBER, used)
    expect(await store.signal.key(NUMBER, 'pre', 1)).toBeNull()
    expect(await store.signal.key(NUMBER, 'kyber', 2)).not.toBeNull()
    expect(await store.signal.key(NUMBER, 'kyber', 3)).toBeNull()
    expect(await store.signal.session(NUMBER, '666')).toBeNull()

    const starts = await Promise.all([store.signal.reserveKeyIds(NUMBER, 50), store.signal.reserveKeyIds(NUMBER, 50)])
    expect(starts.sort((x, y) => x! - y!)).toEqual([10, 60])
    expect((await store.signal.local(NUMBER))?.nextKeyId).toBe(110)
  })

  it('remembers inbound envelopes, users and the window; caches contact checks; queues receipts and check jobs', async () => {
    const { store, clock } = await setup()
    const now = clock.now()
    await store.transaction(async (tx) => {
      await tx.inbound.persist([{ phoneNumberId: NUMBER, envelopeId: 'env-1', messageId: 'in-1', peer: '777', shard: 0, type: 'text', message: { from: '777', id: 'in-1', timestamp: '1', type: 'text', text: { body: 'hi' } }, receivedAt: now }])
      await tx.contactState.touchInbound(NUMBER, [{ waId: '777', profileName: 'Ann', at: now - 10 }, { waId: '777', profileName: null, at: now }])
    })
    expect(await store.inbound.seen(NUMBER, ['env-1', 'env-2'])).toEqual(new Set(['env-1']))
    expect(await store.inbound.envelopeOf(NUMBER, 'in-1')).toEqual({ envelopeId: 'env-1', peer: '777' })
    expect((await store.contactState.get(NUMBER, ['777'])).get('777')).toMatchObject({ profileName: 'Ann', lastInboundAt: now })
    // an older message processed late does not move the window back
    await store.contactState.touchInbound(NUMBER, [{ waId: '777', profileName: 'Ann B', at: now - 1000 }])
    expect((await store.contactState.get(NUMBER, ['777'])).get('777')).toMatchObject({ profileName: 'Ann B', lastInboundAt: now })

    await store.contactChecks.save(NUMBER, [{ waId: '777', status: 'valid' }, { waId: '888', status: 'invalid' }])
    expect(await store.contactChecks.cached(NUMBER, ['777', '888', '999'], now)).toEqual(new Map([['777', 'valid'], ['888', 'invalid']]))
    expect(await store.contactChecks.cached(NUMBER, ['777'], now + 1)).toEqual(new Map())
    await store.contactChecks.enqueueJob(NUMBER, ['+1 555'], true)
    const [job] = await store.contactChecks.jobs(NUMBER, 5)
    expect(job).toMatchObject({ inputs: ['+1 555'], forceCheck: true })
    await store.contactChecks.deleteJob(job!.seq)

    await store.receipts.enqueue([{ phoneNumberId: NUMBER, peer: '777', shard: 1, kind: 'read', envelopeId: 'env-1' }])
    expect(await store.receipts.pending(NUMBER, [0], 10)).toEqual([])
    await store.receipts.reshard(NUMBER, () => 0)
    const pending = await store.receipts.pending(NUMBER, [0], 10)
    expect(pending).toMatchObject([{ peer: '777', kind: 'read', envelopeId: 'env-1', shard: 0 }])
    await store.receipts.remove(pending.map((p) => p.seq))
    expect(await store.receipts.pending(NUMBER, [0, 1], 10)).toEqual([])
  })
})
