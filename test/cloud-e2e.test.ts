import { once } from 'node:events'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CallbackEvent } from '../src/domain/events.js'
import { WebhookService } from '../src/webhooks/service.js'
import { TYPING_MS } from '../src/wire/frames.js'
import { BUSINESS, startHarness, statusesOf, waitFor, type Harness } from './coreapp-harness.js'
import { DIALECTS } from './helpers/databases.js'
import { buildWebApp, VERSION } from './helpers/webapp.js'

interface CloudStatus {
  id: string
  status: string
  errors?: { code: number; title: string; error_data: { details: string } }[]
}

/**
 * The Cloud dialect end to end: Graph requests to the WebApp, the CoreApp encrypting for a
 * simulated phone on the network, and Cloud webhooks rendered as the dispatcher sends them.
 */
for (const dialect of DIALECTS) {
  describe(`Cloud API end to end [${dialect}]`, () => {
    let h: Harness
    let app: FastifyInstance
    let token: string
    let wabaId: string
    const webhooks = () => new WebhookService({ store: h.store })

    beforeAll(async () => {
      h = await startHarness(dialect, { phones: 2 })
      wabaId = (await h.store.wabas.create({ name: 'Acme' })).id
      await h.store.numbers.setHosting(BUSINESS.id, { wabaId, platformType: 'CLOUD_API' })
      token = await h.store.accessTokens.create(wabaId, ['whatsapp_business_messaging'], 'e2e')
      app = await buildWebApp({
        store: h.store, clock: h.db.clock, bridge: h.app.bridge, media: h.media, version: VERSION, registry: new Registry(),
        dataDir: path.join(h.dir, 'webapp'), allowInsecureWebhooks: true,
      })
      // phone 0 writes first, which opens its 24-hour window; phone 1 never does
      await h.phones[0]!.send({ to: BUSINESS.waId, type: 'text', text: 'hello' })
      await waitFor(async () => (await h.callbacks()).some((e) => e.type === 'message'), 'the greeting')
    }, 60_000)
    afterAll(async () => {
      await app?.close()
      await h?.cleanup()
    })

    const send = (payload: object) => app.inject({
      method: 'POST', url: `/v23.0/${BUSINESS.id}/messages`, headers: { authorization: `Bearer ${token}` }, payload: { messaging_product: 'whatsapp', ...payload },
    })

    /** The status webhook of a message as the dispatcher POSTs it (Cloud format: a Cloud-hosted number's). */
    async function cloudStatus(id: string, status: string): Promise<{ entryId: string; status: CloudStatus }> {
      const event = await waitFor(async () => (await h.callbacks()).find((e) => e.type === 'status' && e.status.id === id && e.status.status === status), `${status} of ${id}`)
      const { format, body } = await webhooks().renderFor(BUSINESS.id, [event as CallbackEvent])
      expect(format).toBe('cloud')
      const payload = JSON.parse(body.toString()) as { entry: [{ id: string; changes: [{ value: { statuses: [CloudStatus] } }] }] }
      return { entryId: payload.entry[0].id, status: payload.entry[0].changes[0].value.statuses[0] }
    }

    it('sends a text that the phone receives, decrypted, and reports it sent and delivered', async () => {
      const phone = h.phones[0]!
      const received = once(phone, 'message')
      const res = await send({ to: `+${phone.waId}`, type: 'text', text: { body: 'Your order shipped' } })
      expect(res.statusCode, res.body).toBe(200)
      const { contacts, messages } = res.json() as { contacts: [{ input: string; wa_id: string }]; messages: [{ id: string }] }
      expect(contacts).toEqual([{ input: `+${phone.waId}`, wa_id: phone.waId }])
      const [view] = (await received) as [{ from: string; content: { type: string; text: { body: string } } }]
      expect(view.from).toBe(BUSINESS.waId)
      expect(view.content).toMatchObject({ type: 'text', text: { body: 'Your order shipped' } })
      // the Cloud API has no sent_status setting: `sent` comes though the number's setting is off
      expect(h.store.numbers.settings((await h.store.numbers.get(BUSINESS.id))!).sent_status).toBe(false)
      const sent = await cloudStatus(messages[0].id, 'sent')
      expect(sent.status).toMatchObject({ id: messages[0].id, status: 'sent' })
      const delivered = await cloudStatus(messages[0].id, 'delivered')
      expect(delivered.entryId).toBe(wabaId)
      expect(delivered.status).toMatchObject({ id: messages[0].id, status: 'delivered' })
    }, 30_000)

    it('accepts a free-form message outside the 24-hour window (200 + wamid), then fails it with 131047 in the Cloud webhook', async () => {
      const res = await send({ to: h.phones[1]!.waId, type: 'text', text: { body: 'Are you there?' } })
      expect(res.statusCode, res.body).toBe(200)
      const id = (res.json() as { messages: [{ id: string }] }).messages[0].id
      expect(id).toMatch(/^wamid\./)
      const failed = await cloudStatus(id, 'failed')
      expect(failed.status.errors).toEqual([expect.objectContaining({ code: 131047, title: 'Re-engagement message', error_data: { details: expect.stringContaining('24 hours') } })])
      expect(statusesOf(await h.callbacks(), id).map((s) => s.status)).toEqual(['failed'])
    }, 30_000)

    it('marks a message read with a typing indicator: the phone gets the read receipt and shows the business typing', async () => {
      const phone = h.phones[0]!
      const sent = await phone.send({ to: BUSINESS.waId, type: 'text', text: 'where is it?' })
      const inbound = await waitFor(async () => (await h.callbacks()).find((e) => e.type === 'message' && e.message.id === sent.id), 'the question')
      expect(inbound).toBeDefined()
      const typing = once(phone, 'typing')
      const read = waitFor(async () => (await phone.outbox()).find((m) => m.id === sent.id && m.readAt !== undefined), 'the read receipt')
      const res = await send({ status: 'read', message_id: sent.id, typing_indicator: { type: 'text' } })
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json()).toEqual({ success: true })
      expect(await typing).toEqual([BUSINESS.waId])
      expect(phone.typing()).toEqual([BUSINESS.waId])
      await read

      // the business's next message ends it; else it lasts TYPING_MS
      const answered = once(phone, 'message')
      expect((await send({ to: phone.waId, text: { body: 'on its way' } })).statusCode).toBe(200)
      await answered
      expect(phone.typing()).toEqual([])
      const again = once(phone, 'typing')
      await send({ status: 'read', message_id: sent.id, typing_indicator: { type: 'text' } })
      await again
      h.db.clock.tick(TYPING_MS)
      expect(phone.typing()).toEqual([])
    }, 30_000)
  })
}
