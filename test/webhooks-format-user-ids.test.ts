import { describe, expect, it } from 'vitest'
import type { CallbackEvent } from '../src/domain/events.js'
import { renderCloudWebhook, renderOnPremWebhook, renderPayload } from '../src/webhooks/index.js'
import { statusEvent, textEvent } from './webhooks-harness.js'

const number = { id: '106540352242922', displayPhoneNumber: '15550783881' }
const USER = 'US.13491208655302741918'

/** An inbound text and statuses of a reply, as the CoreApp stores them for a user the network named. */
function eventsWithUserIds(): CallbackEvent[] {
  const message = { ...textEvent('wamid.in', 'hello'), user_id: USER }
  const delivered = { ...statusEvent('wamid.out', 'delivered'), user_id: USER }
  const failed = { ...statusEvent('wamid.out2', 'failed'), user_id: USER }
  failed.status.errors = [{ code: 470, title: 'Re-engagement message', details: 'outside the window' }]
  return [message, delivered, failed]
}

describe('business-scoped user ids in webhooks', () => {
  it('Cloud: contacts[].user_id, messages[].from_user_id and statuses[].recipient_user_id', () => {
    const [message, delivered, failed] = eventsWithUserIds()
    const value = (events: CallbackEvent[]) => renderCloudWebhook(events, number).entry[0]!.changes[0]!.value
    expect(value([message!])).toMatchObject({
      contacts: [{ profile: { name: 'Kerry Fisher' }, wa_id: '16315551234', user_id: USER }],
      messages: [{ from: '16315551234', from_user_id: USER, id: 'wamid.in', type: 'text', text: { body: 'hello' } }],
    })
    // a status names its recipient in contacts too, a failed one does not
    expect(value([delivered!]).contacts).toEqual([{ wa_id: '16315551234', user_id: USER }])
    expect(value([failed!])).not.toHaveProperty('contacts')
    expect(value([delivered!, failed!]).statuses).toMatchObject([
      { id: 'wamid.out', status: 'delivered', recipient_id: '16315551234', recipient_user_id: USER },
      { id: 'wamid.out2', status: 'failed', recipient_user_id: USER, errors: [{ code: 131047 }] },
    ])
    // in the exact bytes that are signed and sent
    const sent = JSON.parse(renderPayload('cloud', [message!], number).toString()) as ReturnType<typeof renderCloudWebhook>
    expect(sent.entry[0]!.changes[0]!.value.messages![0]).toMatchObject({ from_user_id: USER })
  })

  it('Cloud: a status of a send to a user id alone leaves the phone number out; On-Prem keeps it', () => {
    const delivered = { ...statusEvent('wamid.byid', 'delivered'), user_id: USER, by_user_id: true as const }
    const status = renderCloudWebhook([delivered], number).entry[0]!.changes[0]!.value.statuses![0]!
    expect(status).toMatchObject({ id: 'wamid.byid', recipient_user_id: USER })
    expect(status).not.toHaveProperty('recipient_id')
    expect(renderCloudWebhook([delivered], number).entry[0]!.changes[0]!.value.contacts).toEqual([{ user_id: USER }])
    expect(renderOnPremWebhook([delivered]).statuses![0]).toMatchObject({ recipient_id: '16315551234' })
  })

  it('Cloud: events without a user id (stored before, or for a business sender) show none', () => {
    const value = renderCloudWebhook([textEvent('wamid.old', 'hi'), statusEvent('wamid.old2')], number).entry[0]!.changes[0]!.value
    expect(value.contacts![0]).not.toHaveProperty('user_id')
    expect(value.messages![0]).not.toHaveProperty('from_user_id')
    expect(value.statuses![0]).not.toHaveProperty('recipient_user_id')
  })

  it('On-Prem never had business-scoped user ids: its bodies stay as they were', () => {
    const events = eventsWithUserIds()
    const plain = events.map((e) => {
      const { user_id: _userId, ...rest } = e as CallbackEvent & { user_id?: string }
      return rest as CallbackEvent
    })
    expect(renderOnPremWebhook(events)).toEqual(renderOnPremWebhook(plain))
    expect(renderPayload('onprem', events, number).toString()).not.toContain(USER)
  })
})
