import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestClock } from '../src/clock.js'
import type { WebhookError } from '../src/domain/events.js'
import type { OutboundContent } from '../src/domain/message/outbound.js'
import { messageId } from '../src/ids.js'
import { Store } from '../src/store/store.js'
import { shardOf } from '../src/domain/shard.js'
import { BUSINESS, startHarness, statusesOf, waitFor, type Harness } from './coreapp-harness.js'
import { DIALECTS } from './helpers/databases.js'

async function outcome(h: Harness, id: string): Promise<{ status: string; error?: WebhookError }> {
  const s = await waitFor(async () => statusesOf(await h.callbacks(), id).find((x) => x.status === 'failed' || x.status === 'delivered'), `outcome of ${id}`)
  return s.errors?.[0] ? { status: s.status, error: s.errors[0] } : { status: s.status }
}

async function sendAndWait(h: Harness, body: OutboundContent, opts?: { expiresAt?: number }) {
  return outcome(h, await h.queue(body, opts))
}

const template = (name: string, params: string[] = [], extra: Record<string, unknown> = {}): OutboundContent => ({
  to: '', type: 'template',
  template: { name, language: { code: 'en_US', policy: 'deterministic' }, components: [{ type: 'body', parameters: params.map((text) => ({ type: 'text' as const, text })) }], ...extra },
})

for (const dialect of DIALECTS) {
  describe(`CoreApp rules [${dialect}]`, () => {
    let h: Harness

    beforeAll(async () => {
      h = await startHarness(dialect, { phones: 2 })
      await h.createTemplate({ name: 'welcome', category: 'UTILITY', components: [{ type: 'BODY', text: 'Welcome {{1}}, your id is {{2}}' }] })
      for (const name of ['paused_one', 'disabled_one']) await h.createTemplate({ name, components: [{ type: 'BODY', text: 'Sale!' }] })
      const pack = (await h.network.app.inject({ url: `/control/accounts/${BUSINESS.waId}/templates` })).json() as { templates: { id: string; name: string }[] }
      await h.templateAction(pack.templates.find((t) => t.name === 'paused_one')!.id, 'pause')
      await h.templateAction(pack.templates.find((t) => t.name === 'disabled_one')!.id, 'disable')
    })
    afterAll(async () => {
      await h?.cleanup()
    })

    it('fails free-form messages outside the 24-hour window with 470; templates still go', async () => {
      const stranger = h.phones[1]!.waId
      const failed = await sendAndWait(h, { to: stranger, type: 'text', text: { body: 'hi' } })
      expect(failed).toEqual({ status: 'failed', error: { code: 470, title: 'Re-engagement message', details: expect.stringContaining('24 hours') } })
      const row = await h.store.messages.get((await h.callbacks()).flatMap((e) => (e.type === 'status' && e.status.status === 'failed' ? [e.status.id] : []))[0]!)
      expect(row).toMatchObject({ status: 'failed' })
      expect(JSON.parse(row!.error!)).toEqual([failed.error])
      expect(await sendAndWait(h, { ...template('welcome', ['Ann', '7']), to: stranger })).toEqual({ status: 'delivered' })
    })

    it('fails a recipient that is not on WhatsApp with 1013', async () => {
      expect(await sendAndWait(h, { ...template('welcome', ['Ann', '7']), to: '15557770000' })).toMatchObject({ status: 'failed', error: { code: 1013 } })
    })

    it('fails a text to a number that is not on WhatsApp with 1013, not 470, though no window is open', async () => {
      expect(await sendAndWait(h, { to: '15557770001', type: 'text', text: { body: 'hi' } }))
        .toEqual({ status: 'failed', error: { code: 1013, title: 'User is not valid', details: expect.stringContaining('not a WhatsApp user') } })
    })

    it('applies the template rules: missing 2001, paused 2061, disabled 2062, parameter count 2000, namespace, hsm without namespace 2014', async () => {
      const to = h.phones[1]!.waId
      expect((await sendAndWait(h, { ...template('nope'), to })).error?.code).toBe(2001)
      expect((await sendAndWait(h, { to, type: 'template', template: { name: 'welcome', language: { code: 'de' } } })).error)
        .toMatchObject({ code: 2001, details: expect.stringContaining('language de') })
      expect((await sendAndWait(h, { ...template('paused_one'), to })).error?.code).toBe(2061)
      expect((await sendAndWait(h, { ...template('disabled_one'), to })).error?.code).toBe(2062)
      expect((await sendAndWait(h, { ...template('welcome', ['only one']), to })).error).toMatchObject({ code: 2000, title: 'Template Param Count Mismatch' })
      expect((await sendAndWait(h, { ...template('welcome', ['Ann', '7'], { namespace: 'someone_else' }), to })).error)
        .toMatchObject({ code: 2001, details: expect.stringContaining('namespace') })
      expect((await sendAndWait(h, { to, type: 'hsm', hsm: { namespace: '', element_name: 'welcome', language: { code: 'en_US' } } })).error?.code).toBe(2014)
    })

    it('fails a message whose TTL passed before it was sent with 410', async () => {
      const to = h.phones[1]!.waId
      expect(await sendAndWait(h, { ...template('welcome', ['Ann', '7']), to }, { expiresAt: h.db.clock.now() - 1 })).toMatchObject({ status: 'failed', error: { code: 410, title: 'Message expired' } })
      expect(await sendAndWait(h, { ...template('welcome', ['Ann', '7']), to }, { expiresAt: h.db.clock.now() + 60_000 })).toEqual({ status: 'delivered' })
    })

    it('fails a message still pending more than a day after it was accepted with 408, unless its TTL governs', async () => {
      const to = h.phones[1]!.waId
      // the WebApp accepted these a day and a minute ago; the CoreApp only sees them now (it was down)
      const before = new Store({ ...h.store.ctx, clock: new TestClock(h.db.clock.now() - 24 * 3600 * 1000 - 60_000) })
      const accept = async (expiresAt: number | null) => {
        const id = messageId()
        const row = await h.store.numbers.get(BUSINESS.id)
        const body = { ...template('welcome', ['Ann', '7']), to }
        await before.messages.insertOutbound([{ id, phoneNumberId: BUSINESS.id, to, type: body.type, content: body, shard: shardOf(to, row!.shard_count), expiresAt }])
        h.app.wake()
        return outcome(h, id)
      }
      expect(await accept(null)).toMatchObject({ status: 'failed', error: { code: 408, title: 'Message is not valid' } })
      expect(await accept(h.db.clock.now() + 3 * 24 * 3600 * 1000)).toEqual({ status: 'delivered' })
      expect(await accept(h.db.clock.now() - 1)).toMatchObject({ status: 'failed', error: { code: 410 } })
    })

    it('closes the window 24 hours after the last inbound message', async () => {
      const phone = h.phones[0]!
      await phone.send({ to: BUSINESS.waId, type: 'text', text: 'question' })
      await waitFor(async () => (await h.store.contactState.get(BUSINESS.id, [phone.waId])).get(phone.waId)?.lastInboundAt, 'window')
      h.db.clock.tick(24 * 3600 * 1000 - 1000)
      expect(await sendAndWait(h, { to: phone.waId, type: 'text', text: { body: 'inside' } })).toEqual({ status: 'delivered' })
      h.db.clock.tick(2000)
      expect(await sendAndWait(h, { to: phone.waId, type: 'text', text: { body: 'too late' } })).toMatchObject({ status: 'failed', error: { code: 470 } })
    })
  })

  describe(`CoreApp network limits [${dialect}]`, () => {
    let h: Harness

    beforeAll(async () => {
      h = await startHarness(dialect, { phones: 3, limits: { pairBurst: 2, pairWindowMs: 6000, throughputPerSecond: 3, qualityYellowAt: 1, qualityRedAt: 1 } })
      await h.createTemplate({ name: 'promo', components: [{ type: 'BODY', text: 'Sale!' }] })
      for (const p of h.phones) await p.send({ to: BUSINESS.waId, type: 'text', text: 'hi' })
      await waitFor(async () => (await h.callbacks()).filter((e) => e.type === 'message').length === h.phones.length, 'windows')
      h.db.clock.tick(7000)
    })
    afterAll(async () => {
      await h?.cleanup()
    })

    it('reports the pair rate limit as 429, keeping 131056 for Cloud', async () => {
      const to = h.phones[0]!.waId
      const ids: string[] = []
      for (let i = 0; i < 3; i++) ids.push(await h.queue({ to, type: 'text', text: { body: `burst ${i}` } }))
      const outcomes = await Promise.all(ids.map((id) => outcome(h, id)))
      expect(outcomes.slice(0, 2)).toEqual([{ status: 'delivered' }, { status: 'delivered' }])
      expect(outcomes[2]).toMatchObject({ status: 'failed', error: { code: 429, title: 'Rate limit hit', cloud_code: 131056 } })
      // the session survives the refused envelope: the next message decrypts on the phone
      h.db.clock.tick(7000)
      const next = await h.queue({ to, type: 'text', text: { body: 'after the pause' } })
      const entry = await waitFor(async () => (await h.phones[0]!.inbox()).find((m) => m.id === next), 'message after the limit')
      expect(entry.error).toBeUndefined()
    })

    it('reports the throughput limit as 429 (Cloud 130429)', async () => {
      h.db.clock.tick(7000)
      const ids: string[] = []
      for (const [i, p] of [h.phones[1]!, h.phones[1]!, h.phones[2]!, h.phones[2]!].entries()) ids.push(await h.queue({ to: p.waId, type: 'text', text: { body: `tp ${i}` } }))
      const outcomes = await Promise.all(ids.map((id) => outcome(h, id)))
      const failed = outcomes.filter((o) => o.status === 'failed')
      expect(failed).toHaveLength(1)
      expect(failed[0]!.error).toMatchObject({ code: 429, details: expect.stringContaining('per second') })
      expect(failed[0]!.error!.cloud_code).toBeUndefined()
    })

    it('reports a quality-based refusal (RED) as 471', async () => {
      h.db.clock.tick(7000)
      await h.phones[2]!.report(BUSINESS.waId)
      expect(await sendAndWait(h, { to: h.phones[1]!.waId, type: 'template', template: { name: 'promo', language: { code: 'en_US' } } }))
        .toMatchObject({ status: 'failed', error: { code: 471, title: 'Spam rate limit hit' } })
    })
  })
}
