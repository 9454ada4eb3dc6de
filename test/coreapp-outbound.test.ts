import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { OutboundContent } from '../src/domain/message/outbound.js'
import type { Phone } from '../src/phones/phone.js'
import type { Content } from '../src/wire/content.js'
import type { TemplatesGetResult } from '../src/wire/frames.js'
import { BUSINESS, startHarness, statusesOf, waitFor, type Harness } from './coreapp-harness.js'
import { DIALECTS } from './helpers/databases.js'

const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), randomBytes(200)])
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(300)])
const MP4 = Buffer.concat([Buffer.from('0000001866747970', 'hex'), Buffer.from('isom'), randomBytes(200)])

/** A small web server for `link` media: public, behind a bearer token, redirected, missing and stalled files. */
async function startLinkServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/pic.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(PNG)
    if (req.url === '/clip.mp4') return void res.writeHead(200, { 'content-type': 'video/mp4' }).end(MP4)
    if (req.url === '/moved') return void res.writeHead(302, { location: '/clip.mp4' }).end()
    // a frozen host: the headers and a few bytes, then nothing
    if (req.url === '/stalled.png') return void res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(PNG.length) }).write(PNG.subarray(0, 10))
    if (req.url === '/private/doc.pdf') {
      if (req.headers.authorization !== 'Bearer sekret') return void res.writeHead(401).end()
      return void res.writeHead(200, { 'content-type': 'application/pdf' }).end(PDF)
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}

for (const dialect of DIALECTS) {
  describe(`CoreApp outbound [${dialect}]`, () => {
    let h: Harness
    let web: Awaited<ReturnType<typeof startLinkServer>>
    let phone: Phone
    let inboundId: string

    beforeAll(async () => {
      h = await startHarness(dialect, { phones: 3, tuning: { mediaDownloadTimeoutMs: 1_000 } })
      web = await startLinkServer()
      phone = h.phones[0]!
      // the user writes first: the customer-service window opens
      const sent = await phone.send({ to: BUSINESS.waId, type: 'text', text: 'hello' })
      inboundId = sent.id
      await waitFor(async () => (await h.callbacks()).some((e) => e.type === 'message'), 'inbound message')
      await h.store.profiles.saveMediaProviders(BUSINESS.id, [{ name: 'vault', type: 'www', config: { bearer: 'sekret' } }])
      // these tests watch every status; sent_status is off by default
      const row = await h.store.numbers.get(BUSINESS.id)
      await h.store.numbers.saveSettings(BUSINESS.id, { ...JSON.parse(row!.settings), sent_status: true })
    })
    afterAll(async () => {
      await web?.close()
      await h?.cleanup()
    })

    /** Queues `body`, waits until the phone has it and returns what the phone decrypted. */
    async function roundTrip(body: OutboundContent, to: Phone = phone): Promise<{ id: string; content: Content; mediaFile?: Buffer }> {
      const id = await h.queue(body)
      const entry = await waitFor(async () => (await to.inbox()).find((m) => m.id === id), `${body.type} message on the phone`)
      expect(entry.error).toBeUndefined()
      return { id, content: entry.content as Content, ...(entry.mediaFile ? { mediaFile: fs.readFileSync(path.join(to.dir, entry.mediaFile)) } : {}) }
    }

    async function failedWith(id: string) {
      const status = await waitFor(async () => statusesOf(await h.callbacks(), id).find((s) => s.status === 'failed'), `failure of ${id}`)
      return status.errors?.[0]
    }

    it('sends text with preview_url as a reply (context) under the business name', async () => {
      const { content } = await roundTrip({ to: phone.waId, type: 'text', text: { body: 'see https://example.com' }, preview_url: true, context: { message_id: inboundId } })
      expect(content).toMatchObject({ type: 'text', text: { body: 'see https://example.com', preview_url: true }, context: { id: inboundId }, profileName: BUSINESS.name })
    })

    it('sends an image by media id with its caption; the phone decrypts the same bytes', async () => {
      const media = await h.media.put(PNG, { phoneNumberId: BUSINESS.id, mimeType: 'image/png' })
      const { content, mediaFile } = await roundTrip({ to: phone.waId, type: 'image', image: { id: media.id, caption: 'our shop' } })
      expect(content).toMatchObject({ type: 'image', media: { mimeType: 'image/png', caption: 'our shop', size: PNG.length } })
      expect(mediaFile?.equals(PNG)).toBe(true)
    })

    it('sends audio and a sticker by media id', async () => {
      const ogg = Buffer.concat([Buffer.from('OggS'), randomBytes(100)])
      const webp = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBP'), randomBytes(100)])
      const audio = await h.media.put(ogg, { phoneNumberId: BUSINESS.id, mimeType: 'audio/ogg', validate: false })
      const sticker = await h.media.put(webp, { phoneNumberId: BUSINESS.id, mimeType: 'image/webp', validate: false })
      const a = await roundTrip({ to: phone.waId, type: 'audio', audio: { id: audio.id } })
      expect(a.content).toMatchObject({ type: 'audio', media: { mimeType: 'audio/ogg' } })
      expect(a.mediaFile?.equals(ogg)).toBe(true)
      const s = await roundTrip({ to: phone.waId, type: 'sticker', sticker: { id: sticker.id } })
      expect(s.content.type).toBe('sticker')
      expect(s.mediaFile?.equals(webp)).toBe(true)
    })

    it('sends a video by link, following a redirect', async () => {
      const { content, mediaFile } = await roundTrip({ to: phone.waId, type: 'video', video: { link: `${web.url}/moved`, caption: 'clip' } })
      expect(content).toMatchObject({ type: 'video', media: { mimeType: 'video/mp4', caption: 'clip' } })
      expect(mediaFile?.equals(MP4)).toBe(true)
    })

    it('downloads a document link through a media provider (bearer) and keeps its filename', async () => {
      const { content, mediaFile } = await roundTrip({
        to: phone.waId, type: 'document', document: { link: `${web.url}/private/doc.pdf`, provider: { name: 'vault' }, filename: 'invoice.pdf', caption: 'March' },
      })
      expect(content).toMatchObject({ type: 'document', media: { mimeType: 'application/pdf', filename: 'invoice.pdf', caption: 'March' } })
      expect(mediaFile?.equals(PDF)).toBe(true)
    })

    it('fails a message whose link cannot be downloaded with 400 (Cloud 131053)', async () => {
      const missing = await h.queue({ to: phone.waId, type: 'image', image: { link: `${web.url}/missing.png` } })
      expect(await failedWith(missing)).toMatchObject({ code: 400, title: 'Media download error', cloud_code: 131053 })
      // without the provider's credentials the private file is refused too
      const refused = await h.queue({ to: phone.waId, type: 'document', document: { link: `${web.url}/private/doc.pdf` } })
      expect((await failedWith(refused))?.details).toContain('HTTP 401')
    })

    it('fails a message whose link host stalls in the middle of the body once, with 131053, within the download deadline', async () => {
      const stalled = await h.queue({ to: phone.waId, type: 'image', image: { link: `${web.url}/stalled.png` } })
      expect(await failedWith(stalled)).toMatchObject({ code: 400, title: 'Media download error', cloud_code: 131053, details: expect.stringContaining('within 1 s') })
      expect(statusesOf(await h.callbacks(), stalled).map((s) => s.status)).toEqual(['failed'])
    })

    it('sends location, contacts, interactive buttons and lists, and reactions', async () => {
      const location = { latitude: 52.52, longitude: 13.405, name: 'Office', address: 'Main St 1' }
      expect((await roundTrip({ to: phone.waId, type: 'location', location })).content).toMatchObject({ type: 'location', location })
      const contacts = [{ name: { formatted_name: 'Ann Lee', first_name: 'Ann' }, phones: [{ phone: '+1 555 0199', type: 'CELL' }] }]
      expect((await roundTrip({ to: phone.waId, type: 'contacts', contacts })).content).toMatchObject({ type: 'contacts', contacts })
      const buttons = {
        type: 'button', body: { text: 'Pick one' },
        action: { buttons: [{ type: 'reply', reply: { id: 'yes', title: 'Yes' } }, { type: 'reply', reply: { id: 'no', title: 'No' } }] },
      }
      expect((await roundTrip({ to: phone.waId, type: 'interactive', interactive: buttons })).content).toMatchObject({ type: 'interactive', interactive: buttons })
      const list = {
        type: 'list', header: { type: 'text', text: 'Menu' }, body: { text: 'Choose' }, footer: { text: 'thanks' },
        action: { button: 'Open', sections: [{ title: 'Food', rows: [{ id: 'pizza', title: 'Pizza', description: 'hot' }] }] },
      }
      expect((await roundTrip({ to: phone.waId, type: 'interactive', interactive: list })).content).toMatchObject({ type: 'interactive', interactive: list })
      const permission = { type: 'call_permission_request', body: { text: 'May we call?' }, action: { name: 'call_permission_request' } }
      expect((await roundTrip({ to: phone.waId, type: 'interactive', interactive: permission })).content).toMatchObject({ type: 'interactive', interactive: permission })
      const reaction = await roundTrip({ to: phone.waId, type: 'reaction', reaction: { message_id: inboundId, emoji: '👍' } })
      expect(reaction.content).toMatchObject({ type: 'reaction', reaction: { message_id: inboundId, emoji: '👍' } })
    })

    it('hydrates a template (header, body, footer, buttons) and sends it outside the window', async () => {
      await h.createTemplate({
        name: 'order_update', components: [
          { type: 'HEADER', format: 'TEXT', text: 'Hi {{1}}' },
          { type: 'BODY', text: 'Order {{1}} ships on {{2}} for {{3}}.' },
          { type: 'FOOTER', text: 'Acme shipping' },
          { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'Stop' }, { type: 'URL', text: 'Track', url: 'https://acme.test/t/{{1}}' }] },
        ],
      })
      const stranger = h.phones[1]!
      const { id, content } = await roundTrip({
        to: stranger.waId, type: 'template', template: {
          name: 'order_update', language: { code: 'en_US', policy: 'deterministic' }, components: [
            { type: 'header', parameters: [{ type: 'text', text: 'Ann' }] },
            { type: 'body', parameters: [{ type: 'text', text: '#42' }, { type: 'date_time', date_time: { fallback_value: 'May 1' } }, { type: 'currency', currency: { fallback_value: '$9.99', code: 'USD', amount_1000: 9990 } }] },
            { type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'STOP-42' }] },
            { type: 'button', sub_type: 'url', index: 1, parameters: [{ type: 'text', text: 'abc' }] },
          ],
        },
      }, stranger)
      expect(content).toMatchObject({
        type: 'template',
        template: {
          name: 'order_update', language: 'en_US', header: { text: 'Hi Ann' }, body: 'Order #42 ships on May 1 for $9.99.', footer: 'Acme shipping',
          buttons: [{ type: 'quick_reply', text: 'Stop', payload: 'STOP-42' }, { type: 'url', text: 'Track', url: 'https://acme.test/t/abc' }],
        },
      })
      const delivered = await waitFor(async () => statusesOf(await h.callbacks(), id).find((s) => s.status === 'delivered'), 'delivered')
      expect(delivered.pricing).toEqual({ billable: true, pricing_model: 'CBP', category: 'marketing' })
      expect(delivered.conversation?.origin).toEqual({ type: 'marketing' })
    })

    it('sends a template with an image header by link, and a legacy hsm with localizable_params', async () => {
      await h.createTemplate({ name: 'promo', category: 'UTILITY', components: [{ type: 'HEADER', format: 'IMAGE' }, { type: 'BODY', text: 'New in store' }] })
      const withImage = await roundTrip({
        to: phone.waId, type: 'template', template: {
          name: 'promo', language: { code: 'en_US' }, components: [{ type: 'header', parameters: [{ type: 'image', image: { link: `${web.url}/pic.png` } }] }],
        },
      })
      expect(withImage.content).toMatchObject({ type: 'template', template: { body: 'New in store', header: { media: { mimeType: 'image/png' } } } })
      expect(withImage.mediaFile?.equals(PNG)).toBe(true)

      await h.createTemplate({ name: 'otp', language: 'en', category: 'AUTHENTICATION', components: [{ type: 'BODY', text: 'Your code is {{1}}, valid {{2}}' }] })
      const pack = (await h.network.app.inject({ url: `/control/accounts/${BUSINESS.waId}/templates` })).json() as TemplatesGetResult
      const hsm = await roundTrip({
        to: phone.waId, type: 'hsm', hsm: { namespace: pack.namespace, element_name: 'otp', language: { code: 'en', policy: 'deterministic' }, localizable_params: [{ default: '123456' }, { default: '10 minutes' }] },
      })
      expect(hsm.content).toMatchObject({ type: 'template', template: { name: 'otp', body: 'Your code is 123456, valid 10 minutes' } })
    })

    it('reports sent, delivered and read with timestamps, one conversation and pricing, and echoes biz_opaque_callback_data', async () => {
      const first = await h.queue({ to: phone.waId, type: 'text', text: { body: 'one' }, biz_opaque_callback_data: 'order-7' })
      const second = await h.queue({ to: phone.waId, type: 'text', text: { body: 'two' } })
      for (const id of [first, second]) await waitFor(async () => statusesOf(await h.callbacks(), id).some((s) => s.status === 'read'), `read of ${id}`)
      const events = await h.callbacks()
      const statuses = statusesOf(events, first)
      expect(statuses.map((s) => s.status)).toEqual(['sent', 'delivered', 'read'])
      for (const s of statuses) {
        expect(s).toMatchObject({ recipient_id: phone.waId, biz_opaque_callback_data: 'order-7', pricing: { pricing_model: 'CBP', category: 'service' } })
        expect(Number(s.timestamp)).toBe(Math.floor(h.db.clock.now() / 1000))
      }
      const conversation = statuses[1]!.conversation!
      expect(conversation.origin.type).toBe('service')
      expect(Number(conversation.expiration_timestamp)).toBe(Math.floor(h.db.clock.now() / 1000) + 24 * 3600)
      expect(statuses[2]!.conversation?.id).toBe(conversation.id)
      // the second message of the day rides in the same conversation
      expect(statusesOf(events, second).find((s) => s.status === 'delivered')?.conversation?.id).toBe(conversation.id)
      expect(statusesOf(events, second)[0]!.biz_opaque_callback_data).toBeUndefined()
      const history = await h.store.outbox.statuses(first)
      expect(history.map((r) => r.status).sort()).toEqual(['delivered', 'read', 'sent'])
      expect((await h.store.messages.get(first))?.status).toBe('read')
      // nothing is left to resend once the network has the message
      expect(await h.store.outbox.envelopeCount(BUSINESS.id)).toBe(0)
    })

    it('leaves out the sent callback when sent_status is off', async () => {
      const row = await h.store.numbers.get(BUSINESS.id)
      await h.store.numbers.saveSettings(BUSINESS.id, { ...JSON.parse(row!.settings), sent_status: false })
      try {
        const id = await h.queue({ to: phone.waId, type: 'text', text: { body: 'quiet' } })
        await waitFor(async () => statusesOf(await h.callbacks(), id).some((s) => s.status === 'read'), 'read')
        expect(statusesOf(await h.callbacks(), id).map((s) => s.status)).toEqual(['delivered', 'read'])
        expect((await h.store.outbox.statuses(id)).map((s) => s.status)).toContain('sent')
      } finally {
        await h.store.numbers.saveSettings(BUSINESS.id, JSON.parse(row!.settings))
      }
    })
  })
}
