import type { HubEventBus } from './event-bus.js'

/** A simulated phone as the Hub lists it. */
export interface HubPhoneSummary {
  waId: string
  profileName: string
  online: boolean
  /** Businesses this phone blocked. */
  blocked: string[]
  inbox: { total: number; unread: number }
}

/** One message of a phone's chat with a business, as the phone itself holds it. */
export interface HubPhoneMessage {
  id: string
  direction: 'in' | 'out'
  at: number
  /** The decrypted content on the phone; null when it could not be decrypted. */
  content: unknown
  /** For messages the phone sent: sent, delivered, read or failed. For received ones: read or unread. */
  status: string
  error: string | null
  /** Bytes of the end-to-end encrypted envelope, all the network saw of it; null when not seen since the start. */
  envelopeBytes: number | null
}

/**
 * The simulated world as the Hub drives it: the WebApp may not import phones/ or network/, so the
 * composition root (src/cli/hub-wiring.ts) implements this with the in-process PhoneFleet.
 * Errors a user caused are thrown as `HubRefusal`.
 */
export interface HubPhones {
  list(): Promise<HubPhoneSummary[]>
  create(count: number): Promise<HubPhoneSummary[]>
  setOnline(waId: string, online: boolean): Promise<void>
  block(waId: string, business: string): Promise<void>
  unblock(waId: string, business: string): Promise<void>
  report(waId: string, business: string): Promise<void>
  /** Sends as the customer; `request` is the phone control API's send body (`{ type, to, text }`…). */
  send(waId: string, request: unknown): Promise<{ id: string }>
  /** The phone's side of its chat with `business`, oldest first. */
  chat(waId: string, business: string): Promise<HubPhoneMessage[]>
}

/** A request to a phone or the network that cannot be done as asked (unknown phone, bad body, offline, a review the template's state does not allow). */
export class HubRefusal extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message)
  }
}

export type TemplateReviewAction = 'approve' | 'reject' | 'pause' | 'unpause' | 'disable'

/**
 * Meta's side of template review, played by the network (dev profile only): the composition
 * root implements it with the network's control API.
 */
export interface HubTemplateReview {
  review(templateId: string, action: TemplateReviewAction, reason?: string): Promise<void>
}

/** What the composition root gives the Hub. */
export interface HubDeps {
  /** Absent when the phones run elsewhere and are not reachable: the Phones page says so. */
  phones?: HubPhones
  /** Told of changes by the engine, the dispatcher and the phones; the Hub's pages listen over SSE. */
  events: HubEventBus
  /** Present in the dev profile: the Templates page can approve, reject and pause templates. */
  templateReview?: HubTemplateReview
  /** Makes the local webhook dispatcher look for due callbacks now (after a replay). */
  wakeDispatcher?: () => void
  /** The built front end; default `dist/hub` of the package. */
  assetsDir?: string
}

/** One point of the live charts. Rates are per second over the interval before `at`. */
export interface ChartPoint {
  at: number
  acceptedPerS: number
  deliveredPerS: number | null
  acceptP50Ms: number | null
  acceptP99Ms: number | null
  backlog: number
  /** Share of webhook attempts answered 200 in the interval, 0..1; null without attempts. */
  webhookSuccess: number | null
}
