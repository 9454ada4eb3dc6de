import { afterAll, beforeAll, expect, it } from 'vitest'
import type { AccountUpdateEvent, CallbackEvent } from '../src/domain/events.js'
import { renderCloudWebhook } from '../src/webhooks/format-cloud.js'
import { BUSINESS, startHarness, waitFor, type Harness } from './coreapp-harness.js'

const DAY = 24 * 60 * 60 * 1000

const qualityUpdates = (events: CallbackEvent[]) =>
  events.filter((e): e is AccountUpdateEvent => e.type === 'account_update' && e.field === 'phone_number_quality_update')

let h: Harness
let wabaId: string
beforeAll(async () => {
  h = await startHarness('sqlite', {
    phones: 2,
    limits: { qualityYellowAt: 1, qualityRedAt: 2, qualityWindowMs: 10 * DAY, tierDowngradeAfterMs: DAY },
    network: { profile: 'strict' },
  })
  wabaId = (await h.store.wabas.create({ name: 'Acme' })).id
  await h.store.numbers.setHosting(BUSINESS.id, { wabaId, platformType: 'CLOUD_API' })
})
afterAll(async () => h?.cleanup())

it('moves a Cloud number up a tier and back down: phone_number_quality_update webhooks in order, an account_update for the restriction, its quality and limit kept', async () => {
  const next = (count: number) => waitFor(async () => {
    const seen = qualityUpdates(await h.callbacks())
    return seen.length >= count && seen
  }, `${count} quality updates`)
  const management = () => h.store.management.get(BUSINESS.id)

  // the operator raises the limit: the number hears of it as of any upgrade
  const raised = await fetch(`${h.network.url}/control/accounts/${BUSINESS.waId}/tier`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tier: '2000' }),
  })
  expect(raised.status).toBe(200)
  await next(1)
  expect(await management()).toMatchObject({ messagingLimitTier: 'TIER_2K', qualityRating: null })

  // both phones report the business: quality RED, flagged; a day of it steps the limit down
  for (const phone of h.phones) await phone!.report(BUSINESS.waId)
  await next(2)
  expect(await management()).toMatchObject({ qualityRating: 'RED' })
  h.db.clock.tick(DAY)
  await h.network.sweep()
  await next(3)
  // the reports age out of the quality window: unflagged
  h.db.clock.tick(10 * DAY)
  await h.network.sweep()
  const events = await next(4)

  expect(events.map((e) => [e.value.event, e.value.current_limit, e.value.old_limit])).toEqual([
    ['UPGRADE', 'TIER_2K', 'TIER_250'], ['FLAGGED', 'TIER_2K', undefined], ['DOWNGRADE', 'TIER_250', 'TIER_2K'], ['UNFLAGGED', 'TIER_250', undefined],
  ])
  expect(await management()).toMatchObject({ qualityRating: 'GREEN', messagingLimitTier: 'TIER_250' })
  // the flag came with an account_update: business-initiated messages restricted until the reports age out
  const restrictions = (await h.callbacks()).filter((e): e is AccountUpdateEvent => e.type === 'account_update' && e.field === 'account_update')
  expect(restrictions.map((e) => e.value)).toEqual([{ phone_number: BUSINESS.waId, event: 'ACCOUNT_RESTRICTION', restriction_info: [expect.objectContaining({ restriction_type: 'RESTRICTED_BIZ_INITIATED_MESSAGING' })] }])
  const body = renderCloudWebhook([events[2]!], { id: BUSINESS.id, displayPhoneNumber: BUSINESS.waId, wabaId })
  expect(body).toMatchObject({
    object: 'whatsapp_business_account',
    entry: [{ id: wabaId, changes: [{ field: 'phone_number_quality_update', value: {
      display_phone_number: `+${BUSINESS.cc} ${BUSINESS.number}`, event: 'DOWNGRADE', current_limit: 'TIER_250', old_limit: 'TIER_2K',
    } }] }],
  })
}, 60_000)
