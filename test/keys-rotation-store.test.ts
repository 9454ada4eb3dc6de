import { randomBytes } from 'node:crypto'
import { expect, it } from 'vitest'
import { messageId } from '../src/ids.js'
import { countNotCurrent, endRotation, resealAll } from '../src/store/key-rotation.js'
import { Sealer } from '../src/store/sealer.js'
import { emptySignalChanges } from '../src/store/signal-state.js'
import { Store } from '../src/store/store.js'
import { describeEachDatabase } from './helpers/databases.js'

const PHONE = 'rot-store'

describeEachDatabase('master-key rotation in the store', (ctx) => {
  it('re-seals every sealed column (composite keys too) in batches, resumes from its progress, and the old key opens nothing after', async () => {
    const oldKey = randomBytes(32)
    const newKey = randomBytes(32)
    const store = Store.open(ctx().database, new Sealer(oldKey), ctx().clock)
    await store.numbers.create({ id: PHONE, cc: '1', number: '5554100', displayName: 'Rotation' })
    await store.numbers.saveSettings(PHONE, { webhooks: { url: 'https://hooks.example/x', headers: {} } as never })
    const secret = await store.callbacks.rotateWebhookSecret(PHONE)
    const changes = emptySignalChanges()
    for (let i = 0; i < 5; i++) {
      changes.sessions.set(`1555200${i}.1`, Buffer.from(`session ${i}`))
      changes.preKeys.set(i + 1, Buffer.from(`pre-key ${i}`))
    }
    changes.signedPreKeys.set(1, Buffer.from('signed'))
    changes.local = { identityKeyPair: Buffer.from('identity'), registrationId: 7, nextKeyId: 10 }
    await store.signal.apply(PHONE, changes)
    const bodies = Array.from({ length: 5 }, (_, i) => ({ to: '15552000', type: 'text', text: { body: `m${i}` } }))
    for (const content of bodies) await store.messages.insertOutbound([{ id: messageId(), phoneNumberId: PHONE, to: '15552000', type: 'text', shard: 0, expiresAt: null, content }])

    const ring = new Sealer(newKey, [oldKey])
    const rotated = Store.open(ctx().database, ring, ctx().clock)
    const total = await countNotCurrent(ctx().database, ring)
    // settings, webhook secret, identity, 5 sessions, 6 keys, 5 message bodies
    expect(total).toBe(19)

    // a first run stopped once it re-sealed a few values (as a crash would), then resumed
    await expect(resealAll(ctx().database, ring, 3, async (r) => {
      if (r.resealed >= 4) throw new Error('stop')
    })).rejects.toThrow('stop')
    const left = await countNotCurrent(ctx().database, ring)
    expect(left).toBeLessThan(total)
    expect(left).toBeGreaterThan(0)
    const report = await resealAll(ctx().database, ring, 3)
    expect(report.resealed).toBe(left)
    await endRotation(ctx().database)
    expect(await countNotCurrent(ctx().database, ring)).toBe(0)
    const sample = await store.ctx.db.selectFrom('messages').select('content').limit(1).executeTakeFirstOrThrow()
    expect(() => new Sealer(oldKey).open(sample.content)).toThrow()

    // readable with the new key alone
    const only = Store.open(ctx().database, new Sealer(newKey), ctx().clock)
    for (const s of [rotated, only]) {
      expect(await s.callbacks.webhookSecret(PHONE)).toBe(secret)
      expect(s.numbers.settings((await s.numbers.get(PHONE))!).webhooks.url).toBe('https://hooks.example/x')
      expect(Buffer.from((await s.signal.session(PHONE, '15552003.1'))!).toString()).toBe('session 3')
      expect(Buffer.from((await s.signal.key(PHONE, 'pre', 4))!).toString()).toBe('pre-key 3')
      expect(Buffer.from((await s.signal.local(PHONE))!.identityKeyPair).toString()).toBe('identity')
      const rows = await s.ctx.db.selectFrom('messages').selectAll().where('phone_number_id', '=', PHONE).orderBy('seq').execute()
      expect(rows.map((r) => s.messages.content<unknown>(r))).toEqual(bodies)
    }
  })
})
