import type { CallbackEvent, ContactsEvent, InboundMessageEvent, StatusEvent, WebhookError } from '../domain/events.js'

type InboundContact = InboundMessageEvent['contact']
type CheckedContact = ContactsEvent['contacts'][number]

/** The events of one POST sorted into the four arrays both formats carry, in event order. */
export interface GroupedEvents {
  /** One entry per message sender (however many of their messages share the POST), then contacts-check results. */
  contacts: (InboundContact | CheckedContact)[]
  messages: InboundMessageEvent['message'][]
  statuses: StatusEvent['status'][]
  errors: WebhookError[]
}

export function groupEvents(events: readonly CallbackEvent[]): GroupedEvents {
  const grouped: GroupedEvents = { contacts: [], messages: [], statuses: [], errors: [] }
  const senders = new Set<string>()
  for (const event of events) {
    switch (event.type) {
      case 'message':
        if (!senders.has(event.contact.wa_id)) {
          senders.add(event.contact.wa_id)
          grouped.contacts.push(event.contact)
        }
        grouped.messages.push(event.message)
        break
      case 'status':
        grouped.statuses.push(event.status)
        break
      case 'contacts':
        grouped.contacts.push(...event.contacts)
        break
      case 'error':
        grouped.errors.push(...event.errors)
        break
    }
  }
  return grouped
}

/** On-Prem callback body (onprem-api.md §8): top-level arrays, present only when non-empty. */
export interface OnPremWebhookBody {
  contacts?: (InboundContact | CheckedContact)[]
  messages?: InboundMessageEvent['message'][]
  statuses?: StatusEvent['status'][]
  errors?: WebhookError[]
}

/** Several events in one POST merge into the same four arrays, in event order. */
export function renderOnPremWebhook(events: readonly CallbackEvent[]): OnPremWebhookBody {
  const { contacts, messages, statuses, errors } = groupEvents(events)
  const body: OnPremWebhookBody = {}
  if (contacts.length > 0) body.contacts = contacts
  if (messages.length > 0) body.messages = messages
  if (statuses.length > 0) body.statuses = statuses.map((s) => (s.errors ? { ...s, errors: s.errors.map(onPremError) } : s))
  if (errors.length > 0) body.errors = errors.map(onPremError)
  return body
}

/** `cloud_code` is for the Cloud renderer only. */
function onPremError({ cloud_code: _cloud, ...error }: WebhookError): WebhookError {
  return error
}
