import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WebhookError } from '../src/domain/events.js'
import type { OutboundContent } from '../src/domain/message/outbound.js'
import { WebhookCode } from '../src/errors/index.js'
import type { Phone } from '../src/phones/phone.js'
import { BUSINESS, startHarness, statusesOf, waitFor, type Harness, type HostileRow } from './coreapp-harness.js'
import { DIALECTS } from './helpers/databases.js'

/** A contacts card with `depth` nested objects, past the edge's nesting bound. */
function nestedCard(to: string, depth: number): OutboundContent {
  let org: Record<string, unknown> = { company: 'bottom' }
  for (let i = 0; i < depth; i++) org = { inner: org }
  return { to, type: 'contacts', contacts: [{ name: { formatted_name: 'Deep' }, org }] } as unknown as OutboundContent
}

/** A contacts card of about `bytes` bytes: its ciphertext cannot fit the network's envelope limit. */
function hugeCard(to: string, bytes: number): OutboundContent {
  return { to, type: 'contacts', contacts: [{ name: { formatted_name: 'Huge' }, addresses: [{ street: 'x'.repeat(bytes) }] }] } as unknown as OutboundContent
}

const text = (to: string, body: string): OutboundContent => ({ to, type: 'text', text: { body } })

for (const dialect of DIALECTS) {
  describe(`CoreApp poison messages [${dialect}]`, () => {
    let h: Harness
    let phone: Phone

    beforeAll(async () => {
      h = await startHarness(dialect, { phones: 1 })
      phone = h.phones[0]!
      // the user writes first: free-form messages may go
      await phone.send({ to: BUSINESS.waId, type: 'text', text: 'hello' })
      await waitFor(async () => (await h.callbacks()).some((e) => e.type === 'message'), 'inbound message')
    })
    afterAll(async () => {
      await h?.cleanup()
    })

    async function failureOf(id: string): Promise<WebhookError | undefined> {
      const status = await waitFor(async () => statusesOf(await h.callbacks(), id).find((s) => s.status === 'failed' || s.status === 'delivered'), `outcome of ${id}`)
      expect(status.status).toBe('failed')
      return status.errors?.[0]
    }

    /** Queues the hostile message and a text right behind it (one claim); the text must reach the phone. */
    async function poisonThenText(hostile: OutboundContent | HostileRow, label: string): Promise<WebhookError | undefined> {
      const [bad, next] = await h.queueAll([hostile, text(phone.waId, `after ${label}`)])
      const error = await failureOf(bad!)
      await waitFor(async () => (await phone.inbox()).find((m) => m.id === next), `the text after ${label}`)
      const row = await h.store.messages.get(bad!)
      expect(row?.status).toBe('failed')
      return error
    }

    it('fails a contacts card nested 150 levels deep with 500 and delivers the next message to the same user', async () => {
      const error = await poisonThenText(nestedCard(phone.waId, 150), 'depth 150')
      expect(error).toEqual({ code: WebhookCode.GENERIC, title: 'Generic error', details: expect.stringContaining('could not be encoded') })
    })

    it('fails a card nested 5,000 levels deep, stored as is, without a stack overflow taking the engine down', async () => {
      const depth = 5000
      const json = `{"to":"${phone.waId}","type":"contacts","contacts":[{"name":{"formatted_name":"Deep"},"org":${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}}]}`
      const error = await poisonThenText({ to: phone.waId, type: 'contacts', sealed: h.store.ctx.sealer.seal(json) }, 'depth 5000')
      expect(error).toMatchObject({ code: WebhookCode.GENERIC })
    })

    it('fails a message whose stored content cannot be opened', async () => {
      const error = await poisonThenText({ to: phone.waId, type: 'text', sealed: Buffer.concat([Buffer.of(1), randomBytes(64)]) }, 'unreadable content')
      expect(error).toEqual({ code: WebhookCode.GENERIC, title: 'Generic error', details: expect.stringContaining('could not be read') })
    })

    it('fails a 270 KB card the network refuses as too large, keeps the connection and the queue moving', async () => {
      const error = await poisonThenText(hugeCard(phone.waId, 270_000), '270 KB')
      expect(error).toEqual({ code: WebhookCode.GENERIC, title: 'Generic error', details: expect.stringMatching(/262144/) })
      expect((await h.store.numbers.get(BUSINESS.id))?.gateway_status).toBe('connected')
    })

    it('fails a 1.5 MB card whose frame the network could not even read', async () => {
      const error = await poisonThenText(hugeCard(phone.waId, 1_500_000), '1.5 MB')
      expect(error).toEqual({ code: WebhookCode.GENERIC, title: 'Generic error', details: expect.stringMatching(/1048576/) })
    })

    it('gives messages back when a claim pass fails on the database before encrypting: they are sent once it answers', async () => {
      // the recipients' contact state is read once per pass, before any encryption
      const contacts = h.store.contactState
      const read = contacts.get.bind(contacts)
      let failures = 1
      contacts.get = async (...args) => {
        if (failures-- > 0) throw new Error('database unreachable')
        return read(...args)
      }
      try {
        const [id] = await h.queueAll([text(phone.waId, 'after a failed pass')])
        await waitFor(async () => (await phone.inbox()).find((m) => m.id === id), 'the message after a failed pass')
        expect(failures).toBeLessThan(0)
      } finally {
        contacts.get = read
      }
    })

    it('recovers a queue jammed by an over-limit ciphertext stored earlier: it is refused once and fails', async () => {
      const error = await poisonThenText({ to: phone.waId, type: 'text', envelope: randomBytes(300 * 1024) }, 'a stored over-limit envelope')
      expect(error).toEqual({ code: WebhookCode.GENERIC, title: 'Generic error', details: expect.stringMatching(/262144/) })
    })

    // last: it takes the network away
    it('runs one reconcile, not one per call, for the calls made while the database hangs', async () => {
      const leases = h.store.shardLeases
      const renew = leases.renew.bind(leases)
      let calls = 0
      let thaw = (): void => undefined
      const frozen = new Promise<void>((resolve) => (thaw = resolve))
      leases.renew = async (...args) => {
        calls++
        await frozen
        return renew(...args)
      }
      try {
        await waitFor(() => calls > 0, 'a reconcile that hangs on the database')
        const waiting = Array.from({ length: 20 }, () => h.app.reconcile())
        thaw()
        await Promise.all(waiting)
      } finally {
        leases.renew = renew
      }
      // the one that hung and one for all twenty (the renewal timer may have added one more)
      expect(calls).toBeLessThanOrEqual(3)
    })

    it('stores the gateway status again after a write of it failed', async () => {
      const numbers = h.store.numbers
      const write = numbers.setGatewayStatus.bind(numbers)
      let failed = 0
      numbers.setGatewayStatus = async () => {
        failed++
        throw new Error('database unreachable')
      }
      try {
        await h.network.close()
        await waitFor(() => failed > 0, 'a gateway status write that fails')
      } finally {
        numbers.setGatewayStatus = write
      }
      await waitFor(async () => (await numbers.get(BUSINESS.id))?.gateway_status !== 'connected', 'the lost network in the stored status')
    })
  })
}
