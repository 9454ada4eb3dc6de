import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InboundMessageEvent, StatusEvent } from '../src/domain/events.js'
import { CloudCode, OnPremCode, WebhookCode } from '../src/errors/index.js'
import { UserIds } from '../src/network/user-ids.js'
import { BUSINESS, startHarness, statusesOf, waitFor, type Harness } from './coreapp-harness.js'
import { DIALECTS } from './helpers/databases.js'

for (const dialect of DIALECTS) {
  describe(`CoreApp business-scoped user ids [${dialect}]`, () => {
    let h: Harness
    /** The network's own ids, read from its data directory: what it tells the business. */
    let ids: UserIds

    beforeAll(async () => {
      h = await startHarness(dialect, { phones: 3 })
      ids = UserIds.load(path.join(h.dir, 'network'), (waId) => ({ waId, business: waId === BUSINESS.waId }) as never)
      // statuses are watched from `sent` on; sent_status is off by default
      const row = await h.store.numbers.get(BUSINESS.id)
      await h.store.numbers.saveSettings(BUSINESS.id, { ...JSON.parse(row!.settings), sent_status: true })
    })
    afterAll(async () => {
      await h?.cleanup()
    })

    async function inbound(index: number, text: string): Promise<InboundMessageEvent> {
      const sent = await h.phones[index]!.send({ to: BUSINESS.waId, type: 'text', text })
      return waitFor(async () => (await h.callbacks()).find((e): e is InboundMessageEvent => e.type === 'message' && e.message.id === sent.id), 'inbound message')
    }

    const statuses = async (id: string, until: string) => {
      await waitFor(async () => statusesOf(await h.callbacks(), id).some((s) => s.status === until), `${until} of ${id}`)
      return (await h.callbacks()).filter((e): e is StatusEvent => e.type === 'status' && e.status.id === id)
    }

    it('puts the sender user id on the inbound callback and keeps it with the contact', async () => {
      const phone = h.phones[0]!
      const event = await inbound(0, 'hi there')
      expect(event.user_id).toBe(ids.of(BUSINESS.waId, phone.waId))
      expect(event.user_id).toMatch(/^US\.\d+$/)
      // the On-Prem objects stay as they were
      expect(event.contact).toEqual({ wa_id: phone.waId, profile: { name: 'User 0' } })
      expect(event.message).not.toHaveProperty('from_user_id')
      expect((await h.store.contactState.get(BUSINESS.id, [phone.waId])).get(phone.waId)?.userId).toBe(event.user_id)
    })

    it('names the recipient by user id on sent, delivered and read of a send to a phone number, not on its failure', async () => {
      const phone = h.phones[0]!
      const id = await h.queue({ to: phone.waId, type: 'text', text: { body: 'reply' } })
      await waitFor(async () => (await phone.inbox()).some((m) => m.id === id), 'the reply on the phone')
      await phone.markRead([id])
      const events = await statuses(id, 'read')
      expect(events.map((e) => [e.status.status, e.user_id])).toEqual(
        ['sent', 'delivered', 'read'].map((s) => [s, ids.of(BUSINESS.waId, phone.waId)]),
      )
      // outside the window a free-form message fails: a send to a phone number names no user id then
      const closed = await h.queue({ to: h.phones[2]!.waId, type: 'text', text: { body: 'no window' } })
      const [failed] = await statuses(closed, 'failed')
      expect(failed).toMatchObject({ status: { status: 'failed', recipient_id: h.phones[2]!.waId } })
      expect(failed).not.toHaveProperty('user_id')
    })

    it('resolves a user id the number never saw through the network, then sends to it: the phone gets the message', async () => {
      const stranger = h.phones[1]!
      const userId = ids.of(BUSINESS.waId, stranger.waId)
      expect((await h.store.contactState.get(BUSINESS.id, [stranger.waId])).get(stranger.waId)).toBeUndefined()
      expect(await h.app.bridge.resolveUserId(BUSINESS.id, userId)).toBe(stranger.waId)
      expect(await h.store.contactState.byUserId(BUSINESS.id, userId)).toBe(stranger.waId)

      await h.createTemplate({ name: 'welcome', components: [{ type: 'BODY', text: 'Welcome {{1}}' }] })
      const id = await h.queue({ to: stranger.waId, recipient: userId, type: 'template', template: { name: 'welcome', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ann' }] }] } })
      const got = await waitFor(async () => (await stranger.inbox()).find((m) => m.id === id), 'the template on the phone')
      expect(got.content).toMatchObject({ type: 'template', template: { body: 'Welcome Ann' } })
      const events = await statuses(id, 'delivered')
      // sent to the id alone: Cloud leaves the phone number out of its statuses
      expect(events.every((e) => e.user_id === userId && e.by_user_id === true)).toBe(true)

      // a free-form send to that id outside the window fails, and its failure names the id it was sent to
      const failing = await h.queue({ to: stranger.waId, recipient: userId, type: 'text', text: { body: 'free-form' } })
      const [failed] = await statuses(failing, 'failed')
      expect(failed).toMatchObject({ user_id: userId, status: { status: 'failed', errors: [{ code: WebhookCode.REENGAGEMENT_MESSAGE }] } })
    })

    it('fails an authentication template with an OTP button sent to a user id: 131062 on the failed status', async () => {
      const phone = h.phones[1]!
      const userId = ids.of(BUSINESS.waId, phone.waId)
      await h.createTemplate({
        name: 'login_code', category: 'AUTHENTICATION',
        components: [{ type: 'BODY', text: '{{1}} is your verification code.' }, { type: 'BUTTONS', buttons: [{ type: 'OTP', otp_type: 'COPY_CODE', text: 'Copy code' }] }],
      })
      // the WebApp marks a template sent to `recipient` alone; the engine's rules see only the template
      const template = { name: 'login_code', language: { code: 'en_US' }, components: [{ type: 'body' as const, parameters: [{ type: 'text' as const, text: '123456' }] }], to_user_id: true as const }
      const id = await h.queue({ to: phone.waId, recipient: userId, type: 'template', template })
      const [failed] = await statuses(id, 'failed')
      expect(failed).toMatchObject({ status: { status: 'failed', errors: [{ code: OnPremCode.PARAMETER_INVALID, cloud_code: CloudCode.USER_ID_RECIPIENT_UNSUPPORTED }] } })
    })

    it('answers undefined for ids that are none of its users, and resolves known ids without the network', async () => {
      const other = ids.of('15559999', h.phones[1]!.waId)
      expect(await h.app.bridge.resolveUserId(BUSINESS.id, other)).toBeUndefined()
      expect(await h.app.bridge.resolveUserId(BUSINESS.id, 'US.12345')).toBeUndefined()
      await expect(h.app.bridge.resolveUserId('pn-missing', 'US.12345')).rejects.toMatchObject({ code: OnPremCode.RESOURCE_NOT_FOUND })

      await h.network.close()
      await waitFor(async () => (await h.store.numbers.get(BUSINESS.id))?.gateway_status !== 'connected', 'the number to lose the network')
      expect(await h.app.bridge.resolveUserId(BUSINESS.id, ids.of(BUSINESS.waId, h.phones[0]!.waId))).toBe(h.phones[0]!.waId)
      await expect(h.app.bridge.resolveUserId(BUSINESS.id, ids.of(BUSINESS.waId, h.phones[2]!.waId))).rejects.toMatchObject({ code: OnPremCode.SERVICE_NOT_READY })
    })
  })
}
