import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ContactsEvent } from '../src/domain/events.js'
import { messageId } from '../src/ids.js'
import { WaboxError } from '../src/errors/index.js'
import { shardOf } from '../src/domain/shard.js'
import { BUSINESS, startHarness, statusesOf, TEST_TUNING, waitFor, type Harness } from './coreapp-harness.js'
import { DIALECTS } from './helpers/databases.js'

const isCode = (code: number) => (e: unknown) => e instanceof WaboxError && e.code === code

async function delivered(h: Harness, id: string): Promise<boolean> {
  return statusesOf(await h.callbacks(), id).some((s) => s.status === 'delivered')
}

for (const dialect of DIALECTS) {
  describe(`CoreApp registration [${dialect}]`, () => {
    let h: Harness

    beforeAll(async () => {
      h = await startHarness(dialect, { phones: 1, register: false, limits: { preKeysLowThreshold: 1000 } })
    })
    afterAll(async () => {
      await h?.cleanup()
    })

    it('requests a code (vname from the certificate), verifies, stores keys and connects', async () => {
      const cert = Buffer.from(h.network.issueVnameCertificate(BUSINESS.cc, BUSINESS.number, BUSINESS.name)).toString('base64')
      await expect(h.app.bridge.requestCode(BUSINESS.id, { cc: BUSINESS.cc, phoneNumber: BUSINESS.number, method: 'sms', cert: Buffer.from('junk').toString('base64') }))
        .rejects.toSatisfy(isCode(1005))
      const forOther = Buffer.from(h.network.issueVnameCertificate(BUSINESS.cc, '5550999', 'Other')).toString('base64')
      await expect(h.app.bridge.requestCode(BUSINESS.id, { cc: BUSINESS.cc, phoneNumber: BUSINESS.number, method: 'sms', cert: forOther })).rejects.toSatisfy(isCode(1005))

      expect(await h.app.bridge.requestCode(BUSINESS.id, { cc: BUSINESS.cc, phoneNumber: BUSINESS.number, method: 'sms', cert })).toEqual({ status: 'code_sent', vname: BUSINESS.name })
      expect(await h.store.numbers.get(BUSINESS.id)).toMatchObject({ status: 'pending', cert })
      await expect(h.app.bridge.verify(BUSINESS.id, '000000')).rejects.toSatisfy(isCode(1009))
      await h.app.bridge.verify(BUSINESS.id, (await h.network.lastCode(BUSINESS.cc, BUSINESS.number))!)

      const row = await h.store.numbers.get(BUSINESS.id)
      expect(row).toMatchObject({ status: 'registered' })
      expect(h.store.ctx.sealer.open(row!.network_secret!).length).toBeGreaterThan(10)
      expect(await h.store.signal.local(BUSINESS.id)).not.toBeNull()
      expect(await h.store.signal.oneTimeKeyCount(BUSINESS.id)).toBe(TEST_TUNING.preKeys)
      await waitFor(async () => (await h.store.numbers.get(BUSINESS.id))?.gateway_status === 'connected', 'gateway connected')
      expect(await h.app.bridge.requestCode(BUSINESS.id, { cc: BUSINESS.cc, phoneNumber: BUSINESS.number, method: 'sms', cert })).toEqual({ status: 'already_registered', vname: BUSINESS.name })
    })

    it('tops up pre-keys when the network runs low', async () => {
      // the network's threshold (1000) is above what was uploaded: the first bundle taken triggers keys.low
      await h.phones[0]!.send({ to: BUSINESS.waId, type: 'text', text: 'hi' })
      await waitFor(async () => (await h.store.signal.oneTimeKeyCount(BUSINESS.id)) >= 2 * TEST_TUNING.preKeys! - 1, 'pre-key top-up')
      await waitFor(async () => (await h.callbacks()).some((e) => e.type === 'message'), 'the message that used a pre-key')
    })

    it('protects shard changes with the two-step PIN', async () => {
      await h.app.bridge.setPin(BUSINESS.id, '123456')
      expect((await h.store.numbers.get(BUSINESS.id))?.pin_hash).toMatch(/^scrypt\$/)
      await expect(h.app.bridge.setShards(BUSINESS.id, 2)).rejects.toSatisfy(isCode(1008))
      await expect(h.app.bridge.setShards(BUSINESS.id, 2, '654321')).rejects.toSatisfy(isCode(133005))
      await expect(h.app.bridge.setShards(BUSINESS.id, 3, '123456')).rejects.toSatisfy(isCode(1009))
      await h.app.bridge.setPin(BUSINESS.id, null)
      expect((await h.store.numbers.get(BUSINESS.id))?.pin_hash).toBeNull()
    })
  })

  describe(`CoreApp shards and leases [${dialect}]`, () => {
    let h: Harness

    beforeAll(async () => {
      h = await startHarness(dialect, { phones: 4 })
      for (const p of h.phones) await p.send({ to: BUSINESS.waId, type: 'text', text: 'hi' })
      await waitFor(async () => (await h.callbacks()).filter((e) => e.type === 'message').length === 4, 'windows')
    })
    afterAll(async () => {
      await h?.cleanup()
    })

    it('moves to two shards: both connected, queued messages re-sharded, traffic flows both ways', async () => {
      // queued on shard 1, which no engine serves while the number has one shard: none can be
      // sent before the switch, and those whose peer maps to shard 0 must move there
      const before = h.phones.map(() => messageId())
      await h.store.messages.insertOutbound(h.phones.map((p, i) => ({
        id: before[i]!, phoneNumberId: BUSINESS.id, to: p.waId, type: 'text', content: { to: p.waId, type: 'text', text: { body: 'before the switch' } }, shard: 1, expiresAt: null,
      })))
      await h.app.bridge.setShards(BUSINESS.id, 2)
      expect((await h.store.numbers.get(BUSINESS.id))?.shard_count).toBe(2)
      await waitFor(async () => {
        const view = (await h.network.app.inject({ url: `/control/accounts/${BUSINESS.waId}` })).json() as { connectedShards: number[] }
        return [...view.connectedShards].sort().join() === '0,1'
      }, 'both shards connected')
      expect((await h.store.shardLeases.list(BUSINESS.id)).map((l) => [l.shard, l.owner])).toEqual([[0, 'coreapp-a'], [1, 'coreapp-a']])
      expect(new Set(h.phones.map((p) => shardOf(p.waId, 2))).size).toBe(2)
      for (const id of before) {
        await waitFor(() => delivered(h, id), 'delivery after the switch')
        expect((await h.store.messages.get(id))?.shard).toBe(shardOf((await h.store.messages.get(id))!.peer, 2))
      }
      const after = await Promise.all(h.phones.map((p) => h.queue({ to: p.waId, type: 'text', text: { body: 'after the switch' } })))
      for (const id of after) await waitFor(() => delivered(h, id), 'delivery on two shards')
      const replies = await Promise.all(h.phones.map((p) => p.send({ to: BUSINESS.waId, type: 'text', text: 'reply' })))
      for (const r of replies) await waitFor(async () => (await h.callbacks()).some((e) => e.type === 'message' && e.message.id === r.id), 'inbound on its shard')
      await waitFor(async () => (await h.store.numbers.get(BUSINESS.id))?.gateway_status === 'connected', 'gateway connected')
    })

    it('lets a second CoreApp take over once the first one stops renewing its leases', async () => {
      const b = await h.startCoreApp('coreapp-b')
      // a few renewal rounds: the leases are held, b gets nothing
      await new Promise((resolve) => setTimeout(resolve, 5 * TEST_TUNING.leaseRenewMs!))
      expect([...b.ownedShards().values()].flat()).toEqual([])
      expect((await h.store.shardLeases.list(BUSINESS.id)).every((l) => l.owner === 'coreapp-a')).toBe(true)

      // a "crashes": it stops without giving its leases back
      await h.app.stop({ releaseLeases: false })
      const queued = await h.queue({ to: h.phones[0]!.waId, type: 'text', text: { body: 'while nobody owns the shard' } })
      await new Promise((resolve) => setTimeout(resolve, 3 * TEST_TUNING.leaseRenewMs!))
      expect([...b.ownedShards().values()].flat()).toEqual([])
      expect(await delivered(h, queued)).toBe(false)

      h.db.clock.tick(TEST_TUNING.leaseTtlMs! + 1)
      await waitFor(() => b.ownedShards().get(BUSINESS.id)?.length === 2, 'b holds both shards')
      expect((await h.store.shardLeases.list(BUSINESS.id)).map((l) => l.owner)).toEqual(['coreapp-b', 'coreapp-b'])
      await waitFor(() => delivered(h, queued), 'delivery through b')
      const reply = await h.phones[0]!.send({ to: BUSINESS.waId, type: 'text', text: 'hello b' })
      await waitFor(async () => (await h.callbacks()).some((e) => e.type === 'message' && e.message.id === reply.id), 'inbound through b')
    })
  })

  describe(`CoreApp lease fencing [${dialect}]`, () => {
    let h: Harness

    beforeAll(async () => {
      // leases are checked only at start: the fence inside the commit is all that stands in the way
      h = await startHarness(dialect, { phones: 1, tuning: { leaseRenewMs: 60_000 } })
      await h.phones[0]!.send({ to: BUSINESS.waId, type: 'text', text: 'hi' })
      await waitFor(async () => (await h.callbacks()).some((e) => e.type === 'message'), 'window')
    })
    afterAll(async () => {
      await h?.cleanup()
    })

    it('commits no ciphertext or inbound message once another process holds the lease', async () => {
      const phone = h.phones[0]!
      const setOwner = (owner: string) => h.store.ctx.db.updateTable('shard_leases').set({ owner }).where('phone_number_id', '=', BUSINESS.id).execute()
      await setOwner('intruder')
      const id = await h.queue({ to: phone.waId, type: 'text', text: { body: 'fenced' } })
      const inbound = await phone.send({ to: BUSINESS.waId, type: 'text', text: 'also fenced' })
      // several claim passes and inbound attempts go by
      await new Promise((resolve) => setTimeout(resolve, 20 * TEST_TUNING.pollMs!))
      expect((await h.store.messages.get(id))?.status).toBe('queued')
      expect(await h.store.outbox.envelopeCount(BUSINESS.id)).toBe(0)
      expect((await phone.inbox()).some((m) => m.id === id)).toBe(false)
      expect(await h.store.messages.get(inbound.id)).toBeUndefined()

      await setOwner('coreapp-a')
      await waitFor(() => delivered(h, id), 'delivery once the lease is back')
      expect((await phone.inbox()).filter((m) => m.id === id)).toHaveLength(1)
      await waitFor(async () => (await h.store.messages.get(inbound.id))?.direction === 'in', 'inbound once the lease is back')
    })
  })

  describe(`CoreApp contacts check [${dialect}]`, () => {
    let h: Harness

    beforeAll(async () => {
      h = await startHarness(dialect, { phones: 1 })
    })
    afterAll(async () => {
      await h?.cleanup()
    })

    it('answers blocking checks: valid with wa_id, invalid, failed; caches for 7 days unless force_check', async () => {
      const phone = h.phones[0]!
      const results = await h.app.bridge.checkContacts(BUSINESS.id, [`+1 (555) 20-00`.replace('20-00', phone.waId.slice(4)), '+1 555 2099', 'not a number'], { blocking: true, forceCheck: false })
      expect(results).toEqual([
        { input: `+1 (555) ${phone.waId.slice(4)}`, status: 'valid', wa_id: phone.waId },
        { input: '+1 555 2099', status: 'invalid' },
        { input: 'not a number', status: 'failed' },
      ])
      // the user joins WhatsApp; the cached answer stands until forced or a week passed
      await h.phone(99)
      expect(h.phones[99]!.waId).toBe('15552099')
      expect((await h.app.bridge.checkContacts(BUSINESS.id, ['15552099'], { blocking: true, forceCheck: false }))[0]!.status).toBe('invalid')
      expect(await h.app.bridge.checkContacts(BUSINESS.id, ['15552099'], { blocking: true, forceCheck: true })).toEqual([{ input: '15552099', status: 'valid', wa_id: '15552099' }])
      await h.app.bridge.checkContacts(BUSINESS.id, ['+1 555 2098'], { blocking: true, forceCheck: false })
      await h.phone(98)
      h.db.clock.tick(7 * 24 * 3600 * 1000 + 1)
      expect((await h.app.bridge.checkContacts(BUSINESS.id, ['+1 555 2098'], { blocking: true, forceCheck: false }))[0]!.status).toBe('valid')
    })

    it('answers no_wait checks with processing, then a contacts callback', async () => {
      const results = await h.app.bridge.checkContacts(BUSINESS.id, ['1 555 2098', '15552097', '12'], { blocking: false, forceCheck: false })
      // 15552098 was checked (valid) a moment ago; the others need the network
      expect(results).toEqual([
        { input: '1 555 2098', status: 'valid', wa_id: '15552098' },
        { input: '15552097', status: 'processing' },
        { input: '12', status: 'failed' },
      ])
      const event = await waitFor(async () => (await h.callbacks()).find((e): e is ContactsEvent => e.type === 'contacts'), 'contacts callback')
      expect(event.contacts).toEqual([{ input: '15552097', status: 'invalid' }])
      expect(await h.store.contactChecks.jobs(BUSINESS.id, 10)).toEqual([])
    })
  })
}
