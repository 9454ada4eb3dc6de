import { PhoneOfflineError, SendRequestError, parseSendRequest, phoneSummary, type Phone, type PhoneFleet } from '../phones/index.js'
import { HubEventBus } from '../webapp/hub/event-bus.js'
import { HubRefusal, type HubDeps, type HubPhoneMessage, type HubPhones, type HubPhoneSummary, type HubTemplateReview } from '../webapp/hub/ports.js'
import { WireRequestError } from '../wire/client.js'

function summary(phone: Phone): HubPhoneSummary {
  const { waId, profileName, online, blocked, inbox } = phoneSummary(phone)
  return { waId, profileName, online, blocked, inbox }
}

/** A phone's refusal as the Hub shows it: the user's mistake (400/404/409), or a real failure. */
function asHubError(err: unknown): unknown {
  if (err instanceof SendRequestError) return new HubRefusal(400, err.message)
  if (err instanceof PhoneOfflineError) return new HubRefusal(409, `the phone is offline: ${err.message}`)
  if (err instanceof WireRequestError) return new HubRefusal(409, `the network refused it (${err.code}): ${err.message}`)
  return err
}

async function refusing<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (err) {
    throw asHubError(err)
  }
}

/** Envelope sizes the phones saw go over the network since the start, by phone and envelope id; the oldest are forgotten. */
export class EnvelopeSizes {
  readonly #bytes = new Map<string, number>()

  constructor(private readonly keep = 10_000) {}

  record(waId: string, envelopeId: string, bytes: number): void {
    this.#bytes.set(`${waId}/${envelopeId}`, bytes)
    if (this.#bytes.size > this.keep) this.#bytes.delete(this.#bytes.keys().next().value!)
  }

  of(waId: string, envelopeId: string): number | null {
    return this.#bytes.get(`${waId}/${envelopeId}`) ?? null
  }
}

/** The Hub's phone port over the in-process fleet. */
export function fleetHubPhones(fleet: PhoneFleet, sizes = new EnvelopeSizes()): HubPhones {
  const phoneOf = (waId: string): Phone => {
    const phone = fleet.get(waId)
    if (!phone) throw new HubRefusal(404, `no simulated phone +${waId}`)
    return phone
  }
  return {
    list: async () => fleet.list().map(summary),
    create: async (count) => (await fleet.create(count)).map(summary),
    setOnline: (waId, online) => refusing(() => (online ? phoneOf(waId).goOnline() : phoneOf(waId).goOffline())),
    block: (waId, business) => refusing(() => phoneOf(waId).block(business)),
    unblock: (waId, business) => refusing(() => phoneOf(waId).unblock(business)),
    report: (waId, business) => refusing(() => phoneOf(waId).report(business)),
    send: (waId, request) => refusing(async () => ({ id: (await phoneOf(waId).send(parseSendRequest(request))).id })),
    chat: async (waId, business) => {
      const phone = phoneOf(waId)
      const received: HubPhoneMessage[] = (await phone.inbox()).filter((m) => m.from === business).map((m) => ({
        id: m.id, direction: 'in', at: m.receivedAt, content: m.content ?? null, status: m.readAt === undefined ? 'unread' : 'read', error: m.error ?? null,
        envelopeBytes: sizes.of(waId, m.envelopeId),
      }))
      const sent: HubPhoneMessage[] = (await phone.outbox()).filter((m) => m.to === business).map((m) => ({
        id: m.id, direction: 'out', at: m.sentAt, content: m.content, status: m.status, error: m.error?.message ?? null,
        envelopeBytes: sizes.of(waId, m.envelopeId),
      }))
      return [...received, ...sent].sort((a, b) => a.at - b.at)
    },
  }
}

interface ControlPhone {
  waId: string
  profileName: string
  online: boolean
  blocked: string[]
  inbox: { total: number; unread: number }
}

interface ControlMessage {
  id: string
  envelopeId: string
  from?: string
  to?: string
  receivedAt?: number
  sentAt?: number
  content?: unknown
  readAt?: number
  status?: string
  error?: string | { message: string }
}

/** A Hub page waits this long on the network's control API (frozen, it would wait 5 minutes). */
const CONTROL_TIMEOUT_MS = 20_000

/**
 * The Hub's phone port over the phone control API of a network run elsewhere (`wabox network`,
 * docs/phones.md). The phones' envelopes are not seen from here, so their sizes are not shown.
 */
export function controlHubPhones(controlUrl: string, controlToken: string): HubPhones {
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${controlUrl}/control/phones${path}`, {
      method,
      signal: AbortSignal.timeout(CONTROL_TIMEOUT_MS),
      headers: { authorization: `Bearer ${controlToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const answer = (await res.json().catch(() => ({}))) as T & { error?: { message?: string } }
    if (res.ok) return answer
    const message = answer.error?.message ?? `HTTP ${res.status}`
    if (res.status === 400 || res.status === 404 || res.status === 409) throw new HubRefusal(res.status, message)
    throw new Error(`the phone control API answered ${res.status}: ${message}`)
  }
  const summary = ({ waId, profileName, online, blocked, inbox }: ControlPhone): HubPhoneSummary => ({ waId, profileName, online, blocked, inbox })
  const phonePath = (waId: string) => `/${encodeURIComponent(waId)}`
  return {
    list: async () => (await call<{ phones: ControlPhone[] }>('GET', '')).phones.map(summary),
    create: async (count) => (await call<{ phones: ControlPhone[] }>('POST', '', { count })).phones.map(summary),
    setOnline: async (waId, online) => void (await call('POST', `${phonePath(waId)}/${online ? 'online' : 'offline'}`)),
    block: async (waId, business) => void (await call('POST', `${phonePath(waId)}/block`, { business })),
    unblock: async (waId, business) => void (await call('POST', `${phonePath(waId)}/unblock`, { business })),
    report: async (waId, business) => void (await call('POST', `${phonePath(waId)}/report`, { business })),
    send: async (waId, request) => ({ id: (await call<{ message: { id: string } }>('POST', `${phonePath(waId)}/send`, request)).message.id }),
    chat: async (waId, business) => {
      const inbox = (await call<{ messages: ControlMessage[] }>('GET', `${phonePath(waId)}/inbox`)).messages
      const outbox = (await call<{ messages: ControlMessage[] }>('GET', `${phonePath(waId)}/outbox`)).messages
      const errorOf = (e: ControlMessage['error']) => (e === undefined ? null : typeof e === 'string' ? e : e.message)
      return [
        ...inbox.filter((m) => m.from === business).map((m): HubPhoneMessage => ({
          id: m.id, direction: 'in', at: m.receivedAt ?? 0, content: m.content ?? null, status: m.readAt === undefined ? 'unread' : 'read', error: errorOf(m.error), envelopeBytes: null,
        })),
        ...outbox.filter((m) => m.to === business).map((m): HubPhoneMessage => ({
          id: m.id, direction: 'out', at: m.sentAt ?? 0, content: m.content ?? null, status: m.status ?? 'sent', error: errorOf(m.error), envelopeBytes: null,
        })),
      ].sort((a, b) => a.at - b.at)
    },
  }
}

/** Template review through the network's control API (`POST /control/templates/{id}/{action}`), as `wabox templates review` does. */
export function controlTemplateReview(controlUrl: string, controlToken: string): HubTemplateReview {
  return {
    async review(templateId, action, reason) {
      const res = await fetch(`${controlUrl}/control/templates/${encodeURIComponent(templateId)}/${action}`, {
        method: 'POST',
        signal: AbortSignal.timeout(CONTROL_TIMEOUT_MS),
        headers: { authorization: `Bearer ${controlToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(reason === undefined ? {} : { reason }),
      })
      if (res.ok) return
      const text = await res.text()
      if (res.status === 404 || res.status === 409 || res.status === 400) throw new HubRefusal(res.status, `the network refused the review: ${text.slice(0, 300)}`)
      throw new Error(`template review failed with HTTP ${res.status}: ${text.slice(0, 300)}`)
    },
  }
}

/**
 * What `wabox start` gives the Hub: the fleet's phones, and change notices from the phones, the
 * message engine (each callback it queues), the dispatcher (each attempt it records), the API's
 * sends and the dispatcher's wake-up.
 */
export class HubWiring {
  readonly events = new HubEventBus()
  readonly #watched = new WeakSet<Phone>()
  readonly #sizes = new EnvelopeSizes()
  #fleet: PhoneFleet | undefined

  /** Watches every phone of the fleet not watched yet (call after phones were created elsewhere). */
  watchPhones(): void {
    for (const phone of this.#fleet?.list() ?? []) this.#watch(phone)
  }

  /** Tells the Hub that messages or statuses changed (the engine queued callbacks, the API queued a send). */
  readonly messagesChanged = (): void => this.events.publish('messages')

  /** Tells the Hub that webhook attempts were recorded. */
  readonly callbacksChanged = (): void => this.events.publish('callbacks')

  /** `remotePhones`: the phones of a network run elsewhere, used when there is no fleet in this process. */
  deps(opts: { fleet: PhoneFleet | undefined; remotePhones?: HubPhones; wakeDispatcher: () => void; templateReview?: HubTemplateReview }): HubDeps {
    const { fleet } = opts
    const common = { events: this.events, wakeDispatcher: opts.wakeDispatcher, ...(opts.templateReview ? { templateReview: opts.templateReview } : {}) }
    if (!fleet) return opts.remotePhones ? { ...common, phones: opts.remotePhones } : common
    this.#fleet = fleet
    const phones = fleetHubPhones(fleet, this.#sizes)
    const watchAll = () => this.watchPhones()
    watchAll()
    return {
      ...common,
      // phones made since (by the Hub, `wabox phone create`) are watched from the next listing on
      phones: {
        ...phones,
        list: async () => {
          watchAll()
          return phones.list()
        },
        create: async (count) => {
          const created = await phones.create(count)
          watchAll()
          return created
        },
      },
    }
  }

  #watch(phone: Phone): void {
    if (this.#watched.has(phone)) return
    this.#watched.add(phone)
    const changed = () => this.events.publish('phones')
    for (const event of ['message', 'receipt', 'read', 'online', 'offline'] as const) phone.on(event, changed)
    phone.on('envelope', (e) => this.#sizes.record(phone.waId, e.envelopeId, e.bytes))
  }
}
