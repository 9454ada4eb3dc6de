import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AccountUpdateEvent, CallbackEvent } from '../src/domain/events.js'
import type { OutboundContent } from '../src/domain/message/outbound.js'
import { renderCloudWebhook } from '../src/webhooks/format-cloud.js'
import { renderOnPremWebhook } from '../src/webhooks/format-onprem.js'
import { BUSINESS, startHarness, statusesOf, waitFor, type Harness } from './coreapp-harness.js'

const HOUR = 60 * 60 * 1000

const definition = {
  name: 'order_ready',
  language: 'en_US',
  category: 'UTILITY',
  components: [{ type: 'BODY', text: 'Hi {{1}}, your order is ready.', example: { body_text: [['Ann']] } }],
}

const send = (to: string, name = 'order_ready'): OutboundContent => ({
  to, type: 'template',
  template: { name, language: { code: 'en_US', policy: 'deterministic' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ann' }] }] },
})

const updates = (events: CallbackEvent[]) => events.filter((e): e is AccountUpdateEvent => e.type === 'account_update')
const summary = (e: AccountUpdateEvent) => `${e.field.replace('message_template_', '')}:${String(e.value.event ?? e.value.new_quality_score)}`

describe('a template from submission to disabled, with its webhooks', () => {
  let h: Harness
  let wabaId: string
  beforeAll(async () => {
    h = await startHarness('sqlite', {
      phones: 2,
      network: { templateReviewDelayMs: 60_000, templateQuality: { minSends: 2, yellowAt: 1, redAt: 2 } },
      // the pack is cached for an hour: only the status updates make sends see each change
      tuning: { templateMaxAgeMs: 3_600_000 },
    })
    wabaId = (await h.store.wabas.create({ name: 'Acme' })).id
    await h.store.numbers.setHosting(BUSINESS.id, { wabaId, platformType: 'CLOUD_API' })
  })
  afterAll(async () => h?.cleanup())

  /** The outcome of a queued message: delivered, or failed with its error. */
  const outcome = async (id: string) =>
    waitFor(async () => statusesOf(await h.callbacks(), id).find((s) => s.status === 'failed' || s.status === 'delivered'), `outcome of ${id}`)
  const nextUpdates = (count: number) => waitFor(async () => {
    const seen = updates(await h.callbacks())
    return seen.length >= count && seen
  }, `${count} account updates`)
  /** Both phones get the template; one blocks the business (unblocking it again first), the other reports it. */
  const sendAndReport = async () => {
    const [blocker, reporter] = h.phones
    await blocker!.unblock(BUSINESS.waId)
    for (const phone of h.phones) expect(await outcome(await h.queue(send(phone!.waId)))).toMatchObject({ status: 'delivered' })
    await blocker!.block(BUSINESS.waId)
    await reporter!.report(BUSINESS.waId)
  }
  const sweepAfter = async (ms: number) => {
    h.db.clock.tick(ms)
    await h.network.sweep()
  }

  it('walks PENDING → APPROVED → sent → blocked and reported → RED → PAUSED 3 h → APPROVED → PAUSED 6 h → APPROVED → DISABLED, and sends fail while paused or disabled', async () => {
    const created = await h.app.bridge.manageTemplates(BUSINESS.id, { op: 'create', template: definition })
    expect(created).toMatchObject({ ok: true, template: { status: 'PENDING' } })
    expect(await outcome(await h.queue(send(h.phones[0]!.waId)))).toMatchObject({ status: 'failed', errors: [{ code: 2001 }] })

    await sweepAfter(60_000)
    await nextUpdates(1)
    await sendAndReport()
    await nextUpdates(5)
    const paused = await outcome(await h.queue(send(h.phones[0]!.waId)))
    expect(paused).toMatchObject({ status: 'failed', errors: [{ code: 2061 }] })

    await sweepAfter(3 * HOUR)
    await nextUpdates(6)
    await sendAndReport()
    await nextUpdates(10)
    await sweepAfter(6 * HOUR)
    await nextUpdates(11)
    await sendAndReport()
    const events = await nextUpdates(15)
    const disabled = await outcome(await h.queue(send(h.phones[1]!.waId)))
    expect(disabled).toMatchObject({ status: 'failed', errors: [{ code: 2062 }] })

    expect(events.map(summary)).toEqual([
      'status_update:APPROVED',
      'quality_update:GREEN', 'quality_update:YELLOW', 'quality_update:RED',
      'status_update:PAUSED',
      'status_update:APPROVED',
      'quality_update:GREEN', 'quality_update:YELLOW', 'quality_update:RED',
      'status_update:PAUSED',
      'status_update:APPROVED',
      'quality_update:GREEN', 'quality_update:YELLOW', 'quality_update:RED',
      'status_update:DISABLED',
    ])
    const pauses = events.filter((e) => e.value.event === 'PAUSED').map((e) => (e.value.other_info as { title: string }).title)
    expect(pauses).toEqual(['FIRST_PAUSE', 'SECOND_PAUSE'])

    // each is a Cloud notification of its own field, entry.id the WABA
    const body = renderCloudWebhook([events[4]!], { id: BUSINESS.id, displayPhoneNumber: BUSINESS.waId, wabaId })
    expect(body).toEqual({
      object: 'whatsapp_business_account',
      entry: [{ id: wabaId, time: expect.any(Number), changes: [{ field: 'message_template_status_update', value: expect.objectContaining({
        event: 'PAUSED', message_template_id: Number(created.ok && created.template!.id), message_template_name: 'order_ready', message_template_language: 'en_US', reason: 'NONE',
      }) }] }],
    })
    // the paused and disabled sends, as each dialect's status webhook shows them
    const statuses = (await h.callbacks()).filter((e) => e.type === 'status' && e.status.status === 'failed').slice(-2)
    const cloudCodes = statuses.map((s) => (renderCloudWebhook([s], { id: BUSINESS.id, displayPhoneNumber: BUSINESS.waId }).entry[0]!.changes[0]!.value.statuses![0]!.errors![0]!.code))
    expect(cloudCodes).toEqual([132015, 132016])
    expect(statuses.map((s) => renderOnPremWebhook([s]).statuses![0]!.errors![0]!.code)).toEqual([2061, 2062])
  })

  it('fails a send of a REJECTED template with 2060 (Cloud 132001)', async () => {
    const rejected = await h.app.bridge.manageTemplates(BUSINESS.id, { op: 'create', template: { ...definition, name: 'promo_reject' } })
    expect(rejected.ok).toBe(true)
    await h.network.sweep()
    h.db.clock.tick(60_000)
    await h.network.sweep()
    const id = await h.queue(send(h.phones[0]!.waId, 'promo_reject'))
    const failed = await outcome(id)
    expect(failed).toMatchObject({ status: 'failed', errors: [{ code: 2060 }] })
    const status = (await h.callbacks()).find((e) => e.type === 'status' && e.status.id === id && e.status.status === 'failed')!
    expect(renderCloudWebhook([status], { id: BUSINESS.id, displayPhoneNumber: BUSINESS.waId }).entry[0]!.changes[0]!.value.statuses![0]!.errors![0]!.code).toBe(132001)
  })
})
