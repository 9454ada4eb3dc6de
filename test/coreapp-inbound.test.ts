import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InboundMessageEvent } from '../src/domain/events.js'
import { WaboxError } from '../src/errors/index.js'
import type { PhoneSendRequest } from '../src/phones/outgoing.js'
import { BUSINESS, startHarness, statusesOf, waitFor, type Harness } from './coreapp-harness.js'
import { DIALECTS } from './helpers/databases.js'

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

for (const dialect of DIALECTS) {
  describe(`CoreApp inbound [${dialect}]`, () => {
    let h: Harness

    beforeAll(async () => {
      h = await startHarness(dialect, { phones: 3 })
    })
    afterAll(async () => {
      await h?.cleanup()
    })

    /** Sends from phone `index` and returns the inbound callback for it. */
    async function receive(req: PhoneSendRequest, index = 0): Promise<InboundMessageEvent> {
      const sent = await h.phones[index]!.send(req)
      return waitFor(async () => (await h.callbacks()).find((e): e is InboundMessageEvent => e.type === 'message' && e.message.id === sent.id), `inbound ${req.type}`)
    }

    it('persists a text, its sender and the window, calls back in On-Prem shape and sends delivered to the phone', async () => {
      const phone = h.phones[0]!
      const event = await receive({ to: BUSINESS.waId, type: 'text', text: 'Hello, I need help' })
      expect(event).toEqual({
        type: 'message',
        contact: { wa_id: phone.waId, profile: { name: 'User 0' } },
        message: { from: phone.waId, id: event.message.id, timestamp: String(Math.floor(h.db.clock.now() / 1000)), type: 'text', text: { body: 'Hello, I need help' } },
        // the sender's business-scoped user id rides beside the On-Prem objects (Cloud shows it)
        user_id: expect.stringMatching(/^US\.\d+$/),
      })
      const row = await h.store.messages.get(event.message.id)
      expect(row).toMatchObject({ direction: 'in', peer: phone.waId, type: 'text', status: 'received' })
      expect(h.store.messages.content(row!)).toEqual(event.message)
      expect((await h.store.contactState.get(BUSINESS.id, [phone.waId])).get(phone.waId)).toMatchObject({ profileName: 'User 0', lastInboundAt: h.db.clock.now() })
      await waitFor(async () => (await phone.outbox()).find((m) => m.id === event.message.id)?.status === 'delivered', 'delivered receipt on the phone')
    })

    it('downloads media named in media.auto_download into the volume', async () => {
      const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(500)])
      const image = await receive({ to: BUSINESS.waId, type: 'image', data: png, mimeType: 'image/png', caption: 'broken part' })
      expect(image.message.image).toEqual({ id: expect.any(String), mime_type: 'image/png', sha256: sha256(png), caption: 'broken part' })
      const id = (image.message.image as { id: string }).id
      expect((await h.media.read(id))?.equals(png)).toBe(true)
      expect(await h.media.info(id)).toMatchObject({ phoneNumberId: BUSINESS.id, direction: 'in', sha256: sha256(png) })

      const ogg = Buffer.concat([Buffer.from('OggS'), randomBytes(300)])
      const voice = await receive({ to: BUSINESS.waId, type: 'voice', data: ogg, mimeType: 'audio/ogg; codecs=opus' })
      expect(voice.message).toMatchObject({ type: 'voice', voice: { mime_type: expect.stringContaining('audio/ogg'), sha256: sha256(ogg) } })
      expect((await h.media.read((voice.message.voice as { id: string }).id))?.equals(ogg)).toBe(true)

      const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(300)])
      const doc = await receive({ to: BUSINESS.waId, type: 'document', data: pdf, mimeType: 'application/pdf', filename: 'claim.pdf', caption: 'claim' })
      expect(doc.message.document).toMatchObject({ mime_type: 'application/pdf', filename: 'claim.pdf', caption: 'claim', sha256: sha256(pdf) })
    })

    it('gives media outside auto_download an id without storing the file', async () => {
      const row = await h.store.numbers.get(BUSINESS.id)
      await h.store.numbers.saveSettings(BUSINESS.id, { ...JSON.parse(row!.settings), media: { auto_download: ['image'] } })
      try {
        const mp4 = randomBytes(400)
        const video = await receive({ to: BUSINESS.waId, type: 'video', data: mp4, mimeType: 'video/mp4' }, 1)
        const media = video.message.video as { id: string; sha256: string }
        expect(media).toMatchObject({ mime_type: 'video/mp4', sha256: sha256(mp4) })
        expect(await h.media.info(media.id)).toBeUndefined()
      } finally {
        await h.store.numbers.saveSettings(BUSINESS.id, JSON.parse(row!.settings))
      }
    })

    it('reports location, contacts, button and interactive replies, reactions and reply context', async () => {
      const location = await receive({ to: BUSINESS.waId, type: 'location', latitude: 48.85, longitude: 2.35, name: 'Cafe', address: 'Rue 1' })
      expect(location.message.location).toEqual({ latitude: 48.85, longitude: 2.35, name: 'Cafe', address: 'Rue 1' })
      const cards = [{ name: { formatted_name: 'Bo Li' }, phones: [{ phone: '+44 20 7946 0000', type: 'WORK' }] }]
      expect((await receive({ to: BUSINESS.waId, type: 'contacts', contacts: cards })).message.contacts).toEqual(cards)
      expect((await receive({ to: BUSINESS.waId, type: 'button', text: 'Stop', payload: 'STOP-42' })).message).toMatchObject({ type: 'button', button: { text: 'Stop', payload: 'STOP-42' } })
      expect((await receive({ to: BUSINESS.waId, type: 'button_reply', id: 'yes', title: 'Yes' })).message).toMatchObject({
        type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Yes' } },
      })
      expect((await receive({ to: BUSINESS.waId, type: 'list_reply', id: 'pizza', title: 'Pizza', description: 'hot' })).message.interactive).toEqual({
        type: 'list_reply', list_reply: { id: 'pizza', title: 'Pizza', description: 'hot' },
      })

      // the user reacts to and quotes a business message
      const ours = await h.queue({ to: h.phones[0]!.waId, type: 'text', text: { body: 'Your ticket is 7' } })
      await waitFor(async () => (await h.phones[0]!.inbox()).some((m) => m.id === ours), 'business message on the phone')
      expect((await receive({ to: BUSINESS.waId, type: 'reaction', messageId: ours, emoji: '❤️' })).message).toMatchObject({ type: 'reaction', reaction: { message_id: ours, emoji: '❤️' } })
      expect((await receive({ to: BUSINESS.waId, type: 'text', text: 'thanks', replyTo: ours })).message.context).toEqual({ from: BUSINESS.waId, id: ours })
    })

    it('marks an inbound message read: durable receipt to the phone', async () => {
      const phone = h.phones[1]!
      const event = await receive({ to: BUSINESS.waId, type: 'text', text: 'did you read this?' }, 1)
      await h.app.bridge.markRead(BUSINESS.id, event.message.id)
      await waitFor(async () => (await phone.outbox()).find((m) => m.id === event.message.id)?.status === 'read', 'read receipt on the phone')
      expect((await h.store.messages.get(event.message.id))?.status).toBe('read')
      await expect(h.app.bridge.markRead(BUSINESS.id, 'wamid.unknown')).rejects.toSatisfy((e: unknown) => e instanceof WaboxError && e.code === 1006)
    })

    it('reports an identity change, blocks sends with 1028 until acknowledged (show_security_notifications)', async () => {
      const row = await h.store.numbers.get(BUSINESS.id)
      await h.store.numbers.saveSettings(BUSINESS.id, { ...JSON.parse(row!.settings), show_security_notifications: true })
      try {
        const old = h.phones[2]!
        await receive({ to: BUSINESS.waId, type: 'text', text: 'first phone' }, 2)
        // the user reinstalls WhatsApp: same number, new identity key
        await old.close()
        fs.rmSync(old.dir, { recursive: true, force: true })
        const fresh = await h.phone(2)
        expect(fresh.waId).toBe(old.waId)
        const event = await receive({ to: BUSINESS.waId, type: 'text', text: 'new phone' }, 2)
        const events = await h.callbacks()
        const system = events.find((e): e is InboundMessageEvent => e.type === 'message' && e.message.type === 'system' && e.message.from === fresh.waId)
        const identity = await h.store.contacts.identity(BUSINESS.id, fresh.waId)
        expect(identity).toMatchObject({ acknowledged: false })
        expect(system?.message).toMatchObject({
          type: 'system', system: { type: 'user_identity_changed' }, identity: { acknowledged: false, hash: identity!.hash, created_timestamp: identity!.createdAt },
        })
        // reported before the message that revealed it
        expect(events.indexOf(system!)).toBeLessThan(events.findIndex((e) => e.type === 'message' && e.message.id === event.message.id))

        const blocked = await h.queue({ to: fresh.waId, type: 'text', text: { body: 'are you still you?' } })
        const failed = await waitFor(async () => statusesOf(await h.callbacks(), blocked).find((s) => s.status === 'failed'), '1028')
        expect(failed.errors?.[0]).toMatchObject({ code: 1028 })

        expect(await h.store.contacts.acknowledgeIdentity(BUSINESS.id, fresh.waId, identity!.hash)).toBe(true)
        const allowed = await h.queue({ to: fresh.waId, type: 'text', text: { body: 'welcome back' } })
        const got = await waitFor(async () => (await fresh.inbox()).find((m) => m.id === allowed), 'message on the new phone')
        expect(got.error).toBeUndefined()
      } finally {
        await h.store.numbers.saveSettings(BUSINESS.id, JSON.parse(row!.settings))
      }
    })
  })
}
