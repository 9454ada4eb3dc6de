import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { StatusEvent } from '../src/domain/events.js'
import { verifySignature, WebhookService } from '../src/webhooks/index.js'
import { DIALECTS } from './helpers/databases.js'
import { addCloudAccount, addCloudNumber, addNumber, deliverySetup, eventIds, statusEvent, textEvent } from './webhooks-harness.js'

interface CloudBody {
  object: string
  entry: { id: string; changes: { field: string; value: { metadata: unknown; statuses?: Record<string, unknown>[] } }[] }[]
}

for (const dialect of DIALECTS) {
  describe(`webhook delivery for Cloud-hosted numbers [${dialect}]`, () => {
    const t = deliverySetup(dialect, 'webhooks-cloud-numbers')

    it('a Cloud number gets Cloud bodies at the app subscription, one event per POST, signed with the app secret', async () => {
      const { store } = t.db()
      const receiver = await t.receiver()
      const account = await addCloudAccount(store)
      await store.webhookSubscriptions.setApp(account.appId, { url: receiver.url('/app'), verifyToken: 'vt', fields: ['messages'] })
      // the On-Prem format setting is for On-Prem numbers: a Cloud number ignores it
      const id = await addCloudNumber(store, account, { url: null, format: 'onprem', batch_size: null })
      const waId = (await store.numbers.get(id))?.wa_id
      const sent: StatusEvent = { type: 'status', status: {
        id: 'wamid.tpl', recipient_id: '16315551234', status: 'delivered', timestamp: '1767225600', biz_opaque_callback_data: 'order-42',
        conversation: { id: 'conv-1', expiration_timestamp: '1767312000', origin: { type: 'marketing' } },
        pricing: { billable: true, pricing_model: 'CBP', category: 'marketing' },
      } }
      await store.callbacks.enqueueMany(id, [textEvent('wamid.in', 'Olá ☕'), sent])
      expect(await t.dispatcher().runOnce()).toBe(2)

      expect(receiver.requests.map((r) => r.url)).toEqual(['/app', '/app'])
      // what the API shows as the number's signing secret is the one that verifies; it is the app's to rotate
      const service = new WebhookService({ store })
      expect(await service.webhookSecret(id)).toBe(account.appSecret)
      await expect(service.rotateWebhookSecret(id)).rejects.toMatchObject({ code: 1005, details: expect.stringContaining(`secret of app ${account.appId}`) as unknown })
      // the API shows a queued callback as it is POSTed
      const posted = (eventId: string) => receiver.requests.find((r) => eventIds(r.json).includes(eventId))?.json as CloudBody | undefined
      expect(JSON.parse((await service.renderFor(id, [sent])).body.toString('ascii'))).toEqual(posted('wamid.tpl'))
      for (const req of receiver.requests) {
        const header = String(req.headers['x-hub-signature-256'])
        expect(header).toBe('sha256=' + createHmac('sha256', account.appSecret).update(req.raw).digest('hex'))
        expect(verifySignature(req.raw, header, await store.callbacks.webhookSecret(id))).toBe(false)
        expect([...req.raw].every((byte) => byte < 0x80)).toBe(true)
      }
      // two POSTs may be in flight at once: find each by its event
      const [inbound, status] = [posted('wamid.in'), posted('wamid.tpl')]
      expect(inbound?.object).toBe('whatsapp_business_account')
      expect(inbound?.entry[0]?.id).toBe(account.wabaId)
      expect(inbound?.entry[0]?.changes[0]?.value.metadata).toEqual({ display_phone_number: waId, phone_number_id: id })
      expect(eventIds(inbound)).toEqual(['wamid.in'])
      expect(status?.entry[0]?.changes[0]?.value.statuses).toEqual([{
        id: 'wamid.tpl', recipient_id: '16315551234', status: 'delivered', timestamp: '1767225600', biz_opaque_callback_data: 'order-42',
        pricing: { billable: true, pricing_model: 'PMP', category: 'marketing', type: 'regular' },
      }])
    })

    it('messages go to the phone override, else the WABA override, else the app', async () => {
      const { store } = t.db()
      const receiver = await t.receiver()
      const account = await addCloudAccount(store)
      const id = await addCloudNumber(store, account, { url: receiver.url('/setting') })
      await store.webhookSubscriptions.setApp(account.appId, { url: receiver.url('/app'), verifyToken: 'a', fields: ['messages'] })
      await store.webhookSubscriptions.setWaba(account.wabaId, { url: receiver.url('/waba'), verifyToken: 'w' })
      await store.webhookSubscriptions.setPhone(id, { url: receiver.url('/phone'), verifyToken: 'p' })
      const deliverOne = async (eventId: string) => {
        await store.callbacks.enqueue(id, statusEvent(eventId))
        await t.dispatcher().runOnce()
        const last = receiver.requests[receiver.requests.length - 1]
        expect(eventIds(last?.json)).toEqual([eventId])
        expect(verifySignature(last?.raw ?? '', String(last?.headers['x-hub-signature-256']), account.appSecret)).toBe(true)
        return last?.url
      }
      expect(await deliverOne('wamid.1')).toBe('/phone')
      await store.webhookSubscriptions.setPhone(id, null)
      expect(await deliverOne('wamid.2')).toBe('/waba')
      await store.webhookSubscriptions.setWaba(account.wabaId, null)
      expect(await deliverOne('wamid.3')).toBe('/app')
      await store.webhookSubscriptions.setApp(account.appId, null)
      expect(await deliverOne('wamid.4')).toBe('/setting')
    })

    it('without subscriptions the number\'s /v1/configs/webhook URL and headers serve, signed with the app secret; a subscription takes no headers', async () => {
      const { store } = t.db()
      const receiver = await t.receiver()
      const account = await addCloudAccount(store)
      const id = await addCloudNumber(store, account, { url: receiver.url('/setting'), headers: { 'X-Api-Key': 'k-1' } })
      await store.callbacks.enqueue(id, statusEvent('wamid.fallback'))
      await t.dispatcher().runOnce()
      const [fallback] = receiver.requests
      expect(fallback?.url).toBe('/setting')
      expect(fallback?.headers['x-api-key']).toBe('k-1')
      expect((fallback?.json as CloudBody).entry[0]?.id).toBe(account.wabaId)
      expect(verifySignature(fallback?.raw ?? '', String(fallback?.headers['x-hub-signature-256']), account.appSecret)).toBe(true)

      await store.webhookSubscriptions.setPhone(id, { url: receiver.url('/phone'), verifyToken: 'p' })
      await store.callbacks.enqueue(id, statusEvent('wamid.routed'))
      await t.dispatcher().runOnce()
      expect(receiver.requests[1]?.url).toBe('/phone')
      expect(receiver.requests[1]?.headers['x-api-key']).toBeUndefined()
    })

    it('an app subscription without the messages field sends nothing: the callbacks wait', async () => {
      const { store } = t.db()
      const receiver = await t.receiver()
      const account = await addCloudAccount(store)
      const id = await addCloudNumber(store, account, { url: receiver.url('/setting') })
      await store.webhookSubscriptions.setApp(account.appId, { url: receiver.url('/app'), verifyToken: 'a', fields: ['message_template_status_update'] })
      await store.webhookSubscriptions.setWaba(account.wabaId, { url: receiver.url('/waba'), verifyToken: 'w' })
      await store.callbacks.enqueue(id, statusEvent('wamid.held'))
      expect(await t.dispatcher().runOnce()).toBe(0)
      expect(receiver.requests).toHaveLength(0)
      expect(await store.callbacks.pendingCount(id)).toBe(1)
      // subscribing to messages delivers what waited
      await store.webhookSubscriptions.setApp(account.appId, { url: receiver.url('/app'), verifyToken: 'a', fields: ['messages'] })
      expect(await t.dispatcher().runOnce()).toBe(1)
      expect(receiver.requests.map((r) => [r.url, eventIds(r.json)])).toEqual([['/waba', ['wamid.held']]])
    })

    it('retries a Cloud number on the Cloud schedule; an On-Prem number of the same WABA keeps its own URL, format and secret', async () => {
      const { store, clock } = t.db()
      const receiver = await t.receiver()
      const account = await addCloudAccount(store)
      await store.webhookSubscriptions.setApp(account.appId, { url: receiver.url('/app'), verifyToken: 'a', fields: ['messages'] })
      await store.webhookSubscriptions.setWaba(account.wabaId, { url: receiver.url('/waba'), verifyToken: 'w' })
      const cloud = await addCloudNumber(store, account, { format: 'onprem' })
      const onPrem = await addNumber(store, { url: receiver.url('/onprem'), format: 'onprem' }, { callback_backoff_delay_ms: 3000 })
      await store.numbers.setHosting(onPrem, { wabaId: account.wabaId })
      await store.callbacks.enqueue(cloud, statusEvent('wamid.c'))
      await store.callbacks.enqueue(onPrem, statusEvent('wamid.o'))
      receiver.respond = () => 500
      await t.dispatcher().runOnce()
      expect(receiver.requests.map((r) => r.url).sort()).toEqual(['/onprem', '/waba'])
      const next = async (id: string) => (await store.callbacks.list(id, 'failed')).items[0]?.nextAttemptAt
      expect(await next(cloud)).toBe(clock.now() + 1000) // exponential from 1 s
      expect(await next(onPrem)).toBe(clock.now() + 3000) // On-Prem linear step

      const onPremRequest = receiver.requests.find((r) => r.url === '/onprem')
      expect(onPremRequest?.json).toEqual({ statuses: [statusEvent('wamid.o').status] })
      const service = new WebhookService({ store })
      const own = await service.webhookSecret(onPrem)
      expect(verifySignature(onPremRequest?.raw ?? '', String(onPremRequest?.headers['x-hub-signature-256']), own)).toBe(true)
      expect(await service.rotateWebhookSecret(onPrem)).not.toBe(own)
      expect(JSON.parse((await service.renderFor(onPrem, [statusEvent('wamid.o')])).body.toString('ascii'))).toEqual(onPremRequest?.json)
    })
  })
}
