/**
 * Callback events as the store keeps them: On-Prem webhook objects, the canonical form.
 * The webhook dispatcher renders them in the number's format (On-Prem or Cloud) when it
 * delivers them, so a format change applies to callbacks already queued.
 */
export interface WebhookError {
  code: number
  title: string
  details?: string
  /**
   * Cloud code when it is not the catalogue twin of `code`: a pair rate limit is stored as
   * On-Prem 429 but is 131056 on Cloud (the twin of 429 is 130429). Not part of On-Prem output.
   */
  cloud_code?: number
}

export interface StatusEvent {
  type: 'status'
  status: {
    id: string
    recipient_id: string
    status: 'sent' | 'delivered' | 'read' | 'failed' | 'deleted'
    timestamp: string
    conversation?: { id: string; expiration_timestamp?: string; origin: { type: string } }
    pricing?: { billable: boolean; pricing_model: string; category: string }
    errors?: WebhookError[]
    biz_opaque_callback_data?: string
  }
  /** The recipient's business-scoped user id (BSUID): Cloud shows it as `recipient_user_id`, On-Prem never. */
  user_id?: string
  /** The send named the recipient by user id alone: Cloud leaves `recipient_id` out. */
  by_user_id?: true
}

export interface InboundMessageEvent {
  type: 'message'
  contact: { wa_id: string; profile: { name: string } }
  /** On-Prem inbound message object: from, id, timestamp, type, <type>, context?… */
  message: { from: string; id: string; timestamp: string; type: string; [key: string]: unknown }
  /** The sender's business-scoped user id (BSUID): Cloud shows it as `contacts[].user_id` and `from_user_id`, On-Prem never. */
  user_id?: string
  /** What a message of type `unknown` really was (`template`), where known: Cloud's `unsupported.type`. */
  unsupported_type?: string
}

export interface ContactsEvent {
  type: 'contacts'
  contacts: { input: string; status: 'valid' | 'invalid' | 'failed'; wa_id?: string }[]
}

export interface ErrorEvent {
  type: 'error'
  errors: WebhookError[]
}

/**
 * A change of the business's account reported by the network (`account.update` frame): a
 * template's status or quality, the number's quality or tier. Cloud only: `field` is the
 * Cloud webhook field and `value` that change's value; On-Prem bodies have no place for it.
 */
export interface AccountUpdateEvent {
  type: 'account_update'
  field: string
  value: Record<string, unknown>
  /** When the network made the change, unix seconds (Cloud's `entry[].time`). */
  time?: number
}

export type CallbackEvent = StatusEvent | InboundMessageEvent | ContactsEvent | ErrorEvent | AccountUpdateEvent
