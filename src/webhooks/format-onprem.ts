import type { CallbackEvent, ContactsEvent, InboundMessageEvent, StatusEvent, WebhookError } from '../domain/events.js'

type InboundContact = InboundMessageEvent['contact']
type CheckedContact = ContactsEvent['contacts'][number]

/** On-Prem callback body (onprem-api.md §8): top-level arrays, present only when non-empty. */
export interface OnPremWebhookBody {
  contacts?: (InboundContact | CheckedContact)[]
  messages?: InboundMessageEvent['message'][]
  statuses?: StatusEvent['status'][]
  errors?: WebhookError[]
}

/** Several events in one POST merge into the same four arrays, in event order. */
export function renderOnPremWebhook(events: readonly CallbackEvent[]): OnPremWebhookBody {
  const contacts: (InboundContact | CheckedContact)[] = []
  const messages: InboundMessageEvent['message'][] = []
  const statuses: StatusEvent['status'][] = []
  const errors: WebhookError[] = []
  const senders = new Set<string>()
  for (const event of events) {
    switch (event.type) {
      case 'message':
        // one contact entry per sender, however many of their messages share the POST
        if (!senders.has(event.contact.wa_id)) {
          senders.add(event.contact.wa_id)
          contacts.push(event.contact)
        }
        messages.push(event.message)
        break
      case 'status':
        statuses.push(event.status.errors ? { ...event.status, errors: event.status.errors.map(onPremError) } : event.status)
        break
      case 'contacts':
        contacts.push(...event.contacts)
        break
      case 'error':
        errors.push(...event.errors.map(onPremError))
        break
    }
  }
  const body: OnPremWebhookBody = {}
  if (contacts.length > 0) body.contacts = contacts
  if (messages.length > 0) body.messages = messages
  if (statuses.length > 0) body.statuses = statuses
  if (errors.length > 0) body.errors = errors
  return body
}

/** `cloud_code` is for the Cloud renderer only. */
function onPremError({ cloud_code: _cloud, ...error }: WebhookError): WebhookError {
  return error
}
