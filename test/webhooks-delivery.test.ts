import { createHmac } from 'node:crypto'
import prom from 'prom-client'
import { generate } from 'selfsigned'
import { MockAgent } from 'undici'
import { describe, expect, it } from 'vitest'
import { DEFAULT_SETTINGS } from '../src/domain/settings.js'
import { WebhookService } from '../src/webhooks/index.js'
import { DIALECTS } from './helpers/databases.js'
import { addNumber, captureLogger, deliverySetup, eventIds, Receiver, statusEvent, textEvent } from './webhooks-harness.js'

for (const dialect of DIALECTS) {
  describe(`webhook delivery [${dialect}]`, () => {
    const t = deliverySetup(dialect, 'webhooks-delivery')

    it('signs the exact ASCII bytes it sends, and they parse back to the original event (emoji, accents)', async () => {
      const { store } = t.db()
      const receiver = await t.receiver()
      const id = await addNumber(store, { url: receiver.url() })
      const event = textEvent('wamid.sig', 'Olá, café com pão ☕ 😀 — ok', '351912345678', 'José Müller')
      await store.callbacks.enqueue(id, event)
      expect(await t.dispatcher().runOnce()).toBe(1)

      const [req] = receiver.requests
      if (!req) throw new Error('nothing received')
      // pure ASCII on the wire, escaped the way Meta does it
      expect([...req.raw].every((byte) => byte < 0x80)).toBe(true)
      expect(req.raw.toString('ascii')).toContain('\\ud83d\\ude00')
      expect(req.raw.toString('ascii')).toContain('caf\\u00e9')
      // an independent HMAC over the raw bytes with the secret the API shows
      const secret = await new WebhookService({ store }).webhookSecret(id)
      expect(secret).toMatch(/^[0-9a-f]{64}$/)
      const expected = 'sha256=' + createHmac('sha256', secret).update(req.raw).digest('hex')
      expect(req.headers['x-hub-signature-256']).toBe(expected)
      expect(req.headers['content-type']).toBe('application/json')
      expect(JSON.parse(req.raw.toString('utf8'))).toEqual({ contacts: [event.contact], messages: [event.message] })
      // the secret is stable: the next POST is signed with the same one
      expect(await new WebhookService({ store }).webhookSecret(id)).toBe(secret)
    })

    it('retires a callback on HTTP 200 only: 204 and 500 leave it pending with the attempt logged', async () => {
      const { store } = t.db()
      const receiver = await t.receiver()
      const id = await addNumber(store, { url: receiver.url() })
      await store.callbacks.enqueue(id, statusEvent('wamid.a'))
      receiver.respond = () => 204
      await t.dispatcher().runOnce()
      const [pending] = (await store.callbacks.list(id, 'failed')).items
      expect(pending?.attempts).toBe(1)
      expect(pending?.lastError).toMatch(/^HTTP 204/)
      expect(await store.callbacks.attempts(id, pending?.seq ?? 0)).toEqual([
        expect.objectContaining({ httpStatus: 204, error: expect.stringMatching(/^HTTP 204/) as unknown }),
      ])
    })

    it('logs the start of an error answer with the attempt, and the next POST still goes out', async () => {
      const { store } = t.db()
      const receiver = await t.receiver()
      const id = await addNumber(store, { url: receiver.url() })
      await store.callbacks.enqueueMany(id, [statusEvent('wamid.e1'), statusEvent('wamid.e2')])
      receiver.respond = () => 503
      receiver.body = () => 'Service\n   unavailable: ' + 'x'.repeat(100_000)
      expect(await t.dispatcher().runOnce()).toBe(2)
      const failed = (await store.callbacks.list(id, 'failed')).items
      // the first 300 bytes of the answer, whitespace collapsed; the rest is not read
      expect(failed.map((f) => f.lastError)).toEqual(Array(2).fill('HTTP 503: Service unavailable: ' + 'x'.repeat(300 - 'Service\n   unavailable: '.length)))
      receiver.respond = () => 200
      t.db().clock.setTime(Math.max(...failed.map((f) => f.nextAttemptAt)))
      expect(await t.dispatcher().runOnce()).toBe(2)
      expect((await store.callbacks.list(id, 'pending')).items).toHaveLength(0)
    })

    it('records a timeout and a refused connection as failed attempts, to be retried', async () => {
      const { store } = t.db()
      const hanging = await t.receiver()
      hanging.respond = () => new Promise<number>(() => undefined)
      const closed = await Receiver.start()
      const closedUrl = closed.url()
      await closed.close()
      const slow = await addNumber(store, { url: hanging.url() })
      const gone = await addNumber(store, { url: closedUrl })
      await store.callbacks.enqueue(slow, statusEvent('wamid.slow'))
      await store.callbacks.enqueue(gone, statusEvent('wamid.gone'))
      const registry = new prom.Registry()
      expect(await t.dispatcher({ registry, requestTimeoutMs: 200, leaseMs: 5000 }).runOnce()).toBe(2)
      expect((await store.callbacks.list(slow, 'failed')).items[0]?.lastError).toMatch(/^timeout: no answer within 200 ms/)
      expect((await store.callbacks.list(gone, 'failed')).items[0]?.lastError).toMatch(/ECONNREFUSED/)
      const text = await registry.metrics()
      expect(text).toContain('wabox_callback_attempts_total{result="timeout"} 1')
      expect(text).toContain('wabox_callback_attempts_total{result="network"} 1')
    })

    it('sends the On-Prem format, several events per POST when batch_size allows', async () => {
      const { store } = t.db()
      const receiver = await t.receiver()
      const id = await addNumber(store, { url: receiver.url(), format: 'onprem', batch_size: 3 })
      const inbound = textEvent('wamid.in1', 'Hello this is an answer')
      await store.callbacks.enqueueMany(id, [inbound, statusEvent('wamid.out1', 'delivered'), statusEvent('wamid.out2', 'read')])
      await t.dispatcher().runOnce()
      expect(receiver.requests).toHaveLength(1)
      expect(receiver.requests[0]?.json).toEqual({
        contacts: [{ profile: { name: 'Kerry Fisher' }, wa_id: '16315551234' }],
        messages: [{ from: '16315551234', id: 'wamid.in1', timestamp: '1767225600', type: 'text', text: { body: 'Hello this is an answer' } }],
        statuses: [
          { id: 'wamid.out1', recipient_id: '16315551234', status: 'delivered', timestamp: '1767225600' },
          { id: 'wamid.out2', recipient_id: '16315551234', status: 'read', timestamp: '1767225600' },
        ],
      })
    })

    it('sends the Cloud format, one event per POST by default, with Cloud error codes', async () => {
      const { store } = t.db()
      const receiver = await t.receiver()
      const id = await addNumber(store, { url: receiver.url(), format: 'cloud' })
      const waId = (await store.numbers.get(id))?.wa_id
      const failed = statusEvent('wamid.f', 'failed')
      failed.status.errors = [{ code: 470, title: 'Re-engagement message', details: 'More than 24 hours have passed' }]
      await store.callbacks.enqueueMany(id, [textEvent('wamid.in', 'hi'), failed])
      await t.dispatcher().runOnce()
      expect(receiver.requests).toHaveLength(2)
      const metadata = { display_phone_number: waId, phone_number_id: id }
      const bodies = receiver.requests.map((r) => r.json)
      expect(bodies).toContainEqual({
        object: 'whatsapp_business_account',
        entry: [{ id, changes: [{ field: 'messages', value: {
          messaging_product: 'whatsapp', metadata,
          contacts: [{ profile: { name: 'Kerry Fisher' }, wa_id: '16315551234' }],
          messages: [{ from: '16315551234', id: 'wamid.in', timestamp: '1767225600', type: 'text', text: { body: 'hi' } }],
        } }] }],
      })
      expect(bodies).toContainEqual({
        object: 'whatsapp_business_account',
        entry: [{ id, changes: [{ field: 'messages', value: {
          messaging_product: 'whatsapp', metadata,
          statuses: [{ id: 'wamid.f', recipient_id: '16315551234', status: 'failed', timestamp: '1767225600', errors: [{
            code: 131047, title: 'Re-engagement message', message: 'Re-engagement message',
            error_data: { details: 'More than 24 hours have passed' },
            href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
          }] }],
        } }] }],
      })
    })

    it('sends Basic auth from the URL and the custom headers, but never lets them replace its own', async () => {
      const { store } = t.db()
      const receiver = await t.receiver()
      const url = receiver.url().replace('http://', 'http://hook%20user:s3cr%3At@')
      const headers = { 'X-Api-Key': 'k-123', 'Content-Type': 'text/plain', 'X-Hub-Signature-256': 'forged' }
      const id = await addNumber(store, { url, headers })
      await store.callbacks.enqueue(id, statusEvent('wamid.h'))
      await t.dispatcher().runOnce()
      const [req] = receiver.requests
      expect(req?.headers.authorization).toBe('Basic ' + Buffer.from('hook user:s3cr:t').toString('base64'))
      expect(req?.headers['x-api-key']).toBe('k-123')
      expect(req?.headers['content-type']).toBe('application/json')
      expect(req?.headers['x-hub-signature-256']).toMatch(/^sha256=[0-9a-f]{64}$/)
      expect(eventIds(req?.json)).toEqual(['wamid.h'])
    })

    it('refuses private, link-local and loopback targets with a clear error, and sends nothing', async () => {
      const { store } = t.db()
      const receiver = await t.receiver()
      const cases = [
        { url: 'http://10.0.0.1/hook', reason: /10\.0\.0\.1 is a private address/ },
        { url: 'https://169.254.169.254/latest/meta-data', reason: /169\.254\.169\.254 is a link-local address/ },
        { url: `https://localhost:${receiver.port}/hook`, reason: /localhost refused: it resolves to (127\.0\.0\.1|::1), a loopback address/ },
        { url: receiver.url(), reason: /127\.0\.0\.1 is a loopback address/ },
      ]
      const ids: string[] = []
      for (const c of cases) {
        const id = await addNumber(store, { url: c.url })
        await store.callbacks.enqueue(id, statusEvent(`wamid.${ids.length}`))
        ids.push(id)
      }
      const { logger, lines } = captureLogger()
      await t.dispatcher({ allowInsecureLoopback: false, logger }).runOnce()
      expect(receiver.requests).toHaveLength(0)
      for (const [i, c] of cases.entries()) {
        const [item] = (await store.callbacks.list(ids[i] ?? '', 'failed')).items
        expect(item?.lastError).toMatch(c.reason)
        expect(item?.status).toBe('pending') // retried later: fixing the URL delivers it
        const logged = lines.find((l) => l.phoneNumberId === ids[i] && l.level === 50)
        expect(logged?.msg).toMatch(c.reason)
      }
    })

    it('pins the connection to the address it checked (a resolver the test controls)', async () => {
      const { store } = t.db()
      const receiver = await t.receiver()
      const id = await addNumber(store, { url: receiver.url('/hook', 'hooks.example.invalid') })
      await store.callbacks.enqueue(id, statusEvent('wamid.pin'))
      const resolve = async () => [{ address: '127.0.0.1', family: 4 }]
      // the system resolver could not find this name: arriving proves the checked address was used
      await t.dispatcher({ resolve }).runOnce()
      expect(receiver.requests).toHaveLength(1)
      // the same name over https, loopback no longer allowed: refused at the lookup, nothing sent
      await store.numbers.saveSettings(id, { webhooks: { ...DEFAULT_SETTINGS.webhooks, url: `https://hooks.example.invalid:${receiver.port}/hook` } })
      await store.callbacks.enqueue(id, statusEvent('wamid.pin2'))
      await t.dispatcher({ resolve, allowInsecureLoopback: false }).runOnce()
      expect(receiver.requests).toHaveLength(1)
      expect((await store.callbacks.list(id, 'failed')).items[0]?.lastError).toMatch(/hooks\.example\.invalid refused: it resolves to 127\.0\.0\.1, a loopback/)
    })

    it('uses an injected undici dispatcher, still checking DNS before the request', async () => {
      const { store } = t.db()
      const mock = new MockAgent()
      mock.disableNetConnect()
      const seen: string[] = []
      mock.get('https://hooks.example.com').intercept({ path: '/hook', method: 'POST' }).reply(200, (opts) => {
        seen.push(String(opts.body))
        return 'ok'
      })
      const id = await addNumber(store, { url: 'https://hooks.example.com/hook' })
      await store.callbacks.enqueue(id, statusEvent('wamid.mock'))
      let address = '93.184.215.14'
      const resolve = async () => [{ address, family: 4 }]
      await t.dispatcher({ dispatcher: mock, resolve, allowInsecureLoopback: false }).runOnce()
      expect(seen.flatMap((b) => eventIds(JSON.parse(b)))).toEqual(['wamid.mock'])
      expect(await store.callbacks.pendingCount(id)).toBe(0)

      address = '10.1.2.3'
      await store.callbacks.enqueue(id, statusEvent('wamid.mock2'))
      await t.dispatcher({ dispatcher: mock, resolve, allowInsecureLoopback: false }).runOnce()
      expect(seen).toHaveLength(1)
      expect((await store.callbacks.list(id, 'failed')).items[0]?.lastError).toMatch(/it resolves to 10\.1\.2\.3, a private address/)
      await mock.close()
    })

    it('trusts an uploaded webhook CA for its number only', async () => {
      const { store } = t.db()
      const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
        algorithm: 'sha256', keyType: 'ec',
        extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
      })
      const receiver = await t.receiver({ key: pems.private, cert: pems.cert })
      const trusting = await addNumber(store, { url: receiver.url() })
      const other = await addNumber(store, { url: receiver.url() })
      const service = new WebhookService({ store })
      await service.setWebhookCa(trusting, pems.cert)
      await expect(service.setWebhookCa(other, 'not a certificate')).rejects.toMatchObject({ code: 1009 })
      await store.callbacks.enqueue(trusting, statusEvent('wamid.ca1'))
      await store.callbacks.enqueue(other, statusEvent('wamid.ca2'))
      const registry = new prom.Registry()
      await t.dispatcher({ registry }).runOnce()
      expect(receiver.requests.flatMap((r) => eventIds(r.json))).toEqual(['wamid.ca1'])
      expect((await store.callbacks.list(other, 'failed')).items[0]?.lastError).toMatch(/self.signed|certificate/i)
      expect(await registry.metrics()).toContain('wabox_callback_attempts_total{result="tls"} 1')
    })
  })
}
