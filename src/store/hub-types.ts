/** What the Hub's store queries answer; type-only, so the Hub's front end shares them. */

/** One chat of a number: the contact and its latest message. */
export interface HubConversation {
  peer: string
  profileName: string | null
  messages: number
  lastAt: number
  last: { direction: string; type: string; preview: string }
}

export interface HubStatus {
  status: string
  at: number
  error: string | null
}

/** A message of a chat, either way, with every status it went through. */
export interface HubMessage {
  id: string
  direction: string
  type: string
  /** The canonical content, opened (null when the at-rest key cannot open it). */
  content: unknown
  status: string
  error: string | null
  createdAt: number
  statuses: HubStatus[]
}

export interface HubAttempt {
  at: number
  httpStatus: number | null
  latencyMs: number
  /** For an answer other than 200: `HTTP <status>: <start of the response body>`. */
  error: string | null
}

/** A callback in any state (delivered ones too), with its attempt log. */
export interface HubCallback {
  seq: number
  eventType: string
  status: string
  attempts: HubAttempt[]
  nextAttemptAt: number
  createdAt: number
  deliveredAt: number | null
  deadAt: number | null
  /** The event as queued, opened (null when the at-rest key cannot open it). */
  event: unknown
}

export interface DeliveryStats {
  attempts: number
  succeeded: number
}
