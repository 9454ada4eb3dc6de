import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MAX_ENVELOPE_BODY_BYTES, MAX_FRAME_BYTES } from '../src/wire/codec.js'
import { shardOf } from '../src/domain/shard.js'
import { CloseCode, type EnvelopePush, type EnvelopeSendResult, type ReceiptPush } from '../src/wire/frames.js'
import { Harness, nextEvent, type Credentials } from './network-harness.js'
import type { NetworkClient } from '../src/wire/client.js'
import { Relay } from '../src/network/relay.js'

let h: Harness
afterEach(async () => h?.close())

function send(client: NetworkClient, to: string, envelopeId: string, body: Uint8Array = randomBytes(64), id?: string) {
  return client.request<EnvelopeSendResult>({ t: 'envelope.send', id, envelopeId, to, kind: 'message', body })
}

/** Registers phones until it has one for each shard of `shards`. */
async function phonesPerShard(shards: number): Promise<Credentials[]> {
  const found: Credentials[] = []
  for (let n = 0; found.filter(Boolean).length < shards; n++) {
    const waId = `1555020${String(n).padStart(4, '0')}`
    const shard = shardOf(waId, shards)
    if (!found[shard]) found[shard] = await h.register('1', waId.slice(1))
  }
  return found
}

describe('network relay', () => {
  it('relays an envelope to a connected device at once, byte for byte, and forgets it once acked', async () => {
    h = await Harness.start()
    const business = await h.register('1', '5550200', 'Relay Co')
    const phone = await h.register('1', '5550201')
    const biz = await h.connect(business)
    const ph = await h.connect(phone)
    const body = randomBytes(300)
    const arrived = nextEvent<EnvelopePush>(biz, 'envelope')
    const sent = await send(ph, business.waId, 'env-1', body)
    expect(sent).toEqual({ serverTimestamp: h.clock.now(), duplicate: false })
    const push = await arrived
    expect(push).toMatchObject({ t: 'envelope', envelopeId: 'env-1', from: phone.waId, kind: 'message', serverTimestamp: h.clock.now() })
    expect(Buffer.from(push.body)).toEqual(body)
    await biz.request({ t: 'envelope.ack', envelopeIds: ['env-1'] })

    // After the ack nothing is redelivered on the next login; the next envelope is.
    await biz.close()
    await send(ph, business.waId, 'env-2')
    const again = await h.connectExpecting<EnvelopePush>(business, 'envelope', 1)
    expect((await again.events).map((e) => e.envelopeId)).toEqual(['env-2'])
  })

  it('refuses an over-limit envelope alone with too_large: the sender stays connected and its next envelope is relayed', async () => {
    h = await Harness.start()
    const business = await h.register('1', '5550230', 'Relay Co')
    const phone = await h.register('1', '5550231')
    const biz = await h.connect(business, { reconnect: true })
    const ph = await h.connect(phone)
    const dropped = vi.fn()
    biz.on('disconnected', dropped)
    await expect(send(biz, phone.waId, 'too-big', new Uint8Array(MAX_ENVELOPE_BODY_BYTES + 1))).rejects.toMatchObject({ code: 'too_large' })
    // a frame over 1 MiB the server could not even read: the client refuses it before sending
    await expect(send(biz, phone.waId, 'huge', new Uint8Array(MAX_FRAME_BYTES))).rejects.toMatchObject({ code: 'too_large', message: expect.stringContaining(`${MAX_FRAME_BYTES} bytes`) })
    // refused, not stored: the same envelope id is still free, and the next envelope goes
    const arrived = nextEvent<EnvelopePush>(ph, 'envelope')
    expect(await send(biz, phone.waId, 'too-big', new Uint8Array(MAX_ENVELOPE_BODY_BYTES))).toMatchObject({ duplicate: false })
    expect((await arrived).body.byteLength).toBe(MAX_ENVELOPE_BODY_BYTES)
    expect(dropped).not.toHaveBeenCalled()
  })

  it('stores envelopes across a server restart and delivers them in order, redelivering the unacked', async () => {
    h = await Harness.start()
    const business = await h.register('1', '5550210', 'Relay Co')
    const phone = await h.register('1', '5550211')
    const ph = await h.connect(phone, { reconnect: true })
    const ids = Array.from({ length: 60 }, (_, i) => `env-${i}`)
    // Sent without awaiting each: they share batches, and order must still hold.
    await Promise.all(ids.map((id) => send(ph, business.waId, id)))

    await h.restart()
    const biz = await h.connectExpecting<EnvelopePush>(business, 'envelope', 60)
    expect((await biz.events).map((e) => e.envelopeId)).toEqual(ids)
    await biz.client.request({ t: 'envelope.ack', envelopeIds: ids.slice(0, 25) })
    await biz.client.close()

    const back = await h.connectExpecting<EnvelopePush>(business, 'envelope', 35)
    expect((await back.events).map((e) => e.envelopeId)).toEqual(ids.slice(25))
  })

  it('reads the inbox again after a failed backlog read: an envelope arriving meanwhile does not skip the stored ones', async () => {
    h = await Harness.start()
    const business = await h.register('1', '5550215', 'Relay Co')
    const ph = await h.connect(await h.register('1', '5550216'))
    await send(ph, business.waId, 'env-1')
    await send(ph, business.waId, 'env-2')
    let failed!: () => void
    const failedOnce = new Promise<void>((resolve) => (failed = resolve))
    const backlog = vi.spyOn(Relay.prototype, 'backlog').mockImplementationOnce(() => {
      failed()
      return Promise.reject(new Error('disk I/O error'))
    })
    try {
      const biz = await h.connectExpecting<EnvelopePush>(business, 'envelope', 3)
      await failedOnce
      await send(ph, business.waId, 'env-3')
      expect((await biz.events).map((e) => e.envelopeId)).toEqual(['env-1', 'env-2', 'env-3'])
    } finally {
      backlog.mockRestore()
    }
  })

  it('relays an envelope id once per sender; a retried request id gets its original answer', async () => {
    h = await Harness.start()
    const business = await h.register('1', '5550220', 'Relay Co')
    const phone = await h.register('1', '5550221')
    const biz = await h.connect(business)
    const ph = await h.connect(phone)
    const got: string[] = []
    biz.on('envelope', (e: EnvelopePush) => got.push(e.envelopeId))
    const original = await send(ph, business.waId, 'dup-1', undefined, 'req-1')
    h.clock.tick(5000)
    const duplicate = await send(ph, business.waId, 'dup-1', undefined, 'req-2')
    const retry = await send(ph, business.waId, 'dup-1', undefined, 'req-1')
    expect(duplicate).toEqual({ serverTimestamp: original.serverTimestamp, duplicate: true })
    expect(retry).toEqual(original)
    const marker = nextEvent<EnvelopePush>(biz, 'envelope')
    await send(ph, business.waId, 'after')
    await marker
    expect(got).toEqual(['dup-1', 'after'])
  })

  it('forgets envelope ids after the dedup retention', async () => {
    h = await Harness.start({ limits: { dedupRetentionMs: 60_000 } })
    const business = await h.register('1', '5550225', 'Relay Co')
    const phone = await h.register('1', '5550226')
    const ph = await h.connect(phone)
    await send(ph, business.waId, 'old-id')
    h.clock.tick(30_000)
    await send(ph, business.waId, 'newer-id')
    h.clock.tick(30_000)
    await h.server.sweep()
    expect(await send(ph, business.waId, 'old-id')).toMatchObject({ duplicate: false, serverTimestamp: h.clock.now() })
    expect(await send(ph, business.waId, 'newer-id')).toMatchObject({ duplicate: true })
  })

  it('sends receipts back to the sender, stored while it is offline, until receipt.ack', async () => {
    h = await Harness.start()
    const business = await h.register('1', '5550230', 'Relay Co')
    const phone = await h.register('1', '5550231')
    const biz = await h.connect(business)
    const ph = await h.connect(phone)
    const delivered = nextEvent<EnvelopePush>(ph, 'envelope')
    await send(biz, phone.waId, 'wamid.1')
    await delivered
    const online = nextEvent<ReceiptPush>(biz, 'receipt')
    await ph.request({ t: 'receipt.send', to: business.waId, kind: 'delivered', envelopeIds: ['wamid.1'] })
    expect(await online).toMatchObject({ t: 'receipt', from: phone.waId, kind: 'delivered', envelopeIds: ['wamid.1'], timestamp: h.clock.now() })

    await biz.close()
    h.clock.tick(1000)
    const { receiptId } = await ph.request<{ receiptId: string }>({ t: 'receipt.send', to: business.waId, kind: 'read', envelopeIds: ['wamid.1'] })
    // Both the unacked delivered receipt and the read receipt arrive, in order.
    const back = await h.connectExpecting<ReceiptPush>(business, 'receipt', 2)
    const [first, second] = await back.events
    expect([first!.kind, second!.kind]).toEqual(['delivered', 'read'])
    expect(second!.receiptId).toBe(receiptId)
    await back.client.request({ t: 'receipt.ack', receiptIds: [first!.receiptId, second!.receiptId] })
    await back.client.close()

    const third = await h.connect(business)
    const marker = nextEvent<EnvelopePush>(third, 'envelope')
    const seen: ReceiptPush[] = []
    third.on('receipt', (r: ReceiptPush) => seen.push(r))
    await send(ph, business.waId, 'marker')
    await marker
    expect(seen).toEqual([])
  })

  it('replaces the older connection of the same (wa_id, shard) with REPLACED', async () => {
    h = await Harness.start()
    const business = await h.register('1', '5550240', 'Relay Co')
    const phone = await h.register('1', '5550241')
    const old = await h.connect(business, { reconnect: true })
    const replaced = nextEvent<void>(old, 'replaced')
    const closed = nextEvent<number>(old, 'disconnected')
    const fresh = await h.connect(business)
    await replaced
    expect(await closed).toBe(CloseCode.REPLACED)
    expect(old.connected).toBe(false)
    const ph = await h.connect(phone)
    const arrived = nextEvent<EnvelopePush>(fresh, 'envelope')
    await send(ph, business.waId, 'to-new')
    expect((await arrived).envelopeId).toBe('to-new')
  })

  it('routes each phone to the connection of its shard and refuses sends outside the shard', async () => {
    h = await Harness.start()
    const business = await h.register('1', '5550250', 'Sharded Co')
    const [p0, p1] = await phonesPerShard(2)
    const shard0 = await h.connect(business, { shard: 0, shards: 2 })
    const shard1 = await h.connect(business, { shard: 1, shards: 2 })
    const phone0 = await h.connect(p0!)
    const phone1 = await h.connect(p1!)
    const at0 = nextEvent<EnvelopePush>(shard0, 'envelope')
    const at1 = nextEvent<EnvelopePush>(shard1, 'envelope')
    await send(phone1, business.waId, 'from-1')
    await send(phone0, business.waId, 'from-0')
    expect((await at0).from).toBe(p0!.waId)
    expect((await at1).from).toBe(p1!.waId)

    await expect(send(shard0, p1!.waId, 'wrong')).rejects.toMatchObject({ code: 'wrong_shard' })
    const toPhone = nextEvent<EnvelopePush>(phone1, 'envelope')
    await send(shard1, p1!.waId, 'right')
    await toPhone
    const receipt = nextEvent<ReceiptPush>(shard1, 'receipt')
    await phone1.request({ t: 'receipt.send', to: business.waId, kind: 'read', envelopeIds: ['right'] })
    expect((await receipt).from).toBe(p1!.waId)

    // Logging in with another shard count takes over every shard.
    const closed = nextEvent<number>(shard1, 'disconnected')
    await h.connect(business, { shard: 0, shards: 1 })
    expect(await closed).toBe(CloseCode.REPLACED)
  })

  it('refuses envelopes to numbers that are not on the network', async () => {
    h = await Harness.start()
    const phone = await h.register('1', '5550260')
    const ph = await h.connect(phone)
    await expect(send(ph, '15559999999', 'x')).rejects.toMatchObject({ code: 'not_registered' })
    await expect(send(ph, phone.waId, 'x')).rejects.toMatchObject({ code: 'bad_request' })
  })

  it('fails envelopes undelivered past their TTL with envelope.failed to the sender', async () => {
    h = await Harness.start({ limits: { envelopeTtlMs: 60_000 } })
    const business = await h.register('1', '5550270', 'Relay Co')
    const phone = await h.register('1', '5550271')
    const biz = await h.connect(business)
    await send(biz, phone.waId, 'wamid.expiring')
    h.clock.tick(60_000)
    const failed = nextEvent<{ envelopeId: string; to: string; error: { code: string } }>(biz, 'envelope.failed')
    await h.server.sweep()
    expect(await failed).toMatchObject({ envelopeId: 'wamid.expiring', to: phone.waId, error: { code: 'not_found' } })
    await send(biz, phone.waId, 'wamid.fresh')
    const ph = await h.connectExpecting<EnvelopePush>(phone, 'envelope', 1)
    expect((await ph.events).map((e) => e.envelopeId)).toEqual(['wamid.fresh'])
  })
})
