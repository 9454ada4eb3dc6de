import { EventEmitter, once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type { WaboxProcess } from './wabox-process.js'
import type { WebhookReceiver } from './webhook-receiver.js'

/**
 * Pacing of the load, the only fixed waits here: each phone gets a send every SEND_EVERY_MS
 * (~15 per 6 s, under the network's 45 envelopes per pair per 6 s) with at most MAX_IN_FLIGHT
 * undelivered, so a stalled engine catching up never bursts past that limit either; each phone
 * sends an inbound message every INBOUND_EVERY_MS.
 */
const SEND_EVERY_MS = 400
const MAX_IN_FLIGHT = 12
const INBOUND_EVERY_MS = 500

/** A 1×1 PNG: the image phones send now and then, so media files are stored too. */
const PIXEL_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='

export interface Accept {
  to: string
  id: string
  text: string
  /** When the send was made and how long its answer took (performance.now() ms). */
  at: number
  ms: number
}

/** What a client and the phones saw during [from, to]: the gaps are "downtime" as a user notices it. */
export interface WindowStats {
  /** Longest time between consecutive accepted sends (201), counting the last one before and the first one after. */
  maxAcceptGapMs: number
  /** Slowest answer to a send made in the window. */
  slowestAcceptMs: number
  /** Longest time between consecutive `delivered` status webhooks, counted the same way. */
  maxDeliveredGapMs: number
  accepted: number
}

interface StatusBody { statuses?: { id: string; status: string }[] }

/**
 * Steady traffic through a running `wabox start`: On-Prem sends from the first number to every
 * phone, and inbound texts (an image every tenth) from every phone to it. Records every answer
 * and every `delivered` webhook with its time.
 */
export class ServingLoad {
  readonly accepted: Accept[] = []
  /** Sends not answered 201, with the answer. */
  readonly refused: string[] = []
  readonly inbound: { from: string; text: string; image: boolean }[] = []
  /** Every `delivered` status webhook: message id → the times it came. */
  readonly delivered = new Map<string, number[]>()
  #running = false
  #loops: Promise<void>[] = []
  /** 'change': a send was accepted, a `delivered` webhook came, or the load stops. */
  readonly #events = new EventEmitter().setMaxListeners(0)

  constructor(private readonly wabox: WaboxProcess, receiver: WebhookReceiver, private readonly business: string) {
    receiver.on('body', (body: StatusBody) => {
      for (const s of body.statuses ?? []) {
        if (s.status !== 'delivered') continue
        const times = this.delivered.get(s.id) ?? []
        if (times.length === 0) this.delivered.set(s.id, times)
        times.push(performance.now())
        this.#events.emit('change')
      }
    })
  }

  start(): void {
    this.#running = true
    const phones = this.wabox.creds.phones
    this.#loops = [...phones.map((p) => this.#sends(p)), ...phones.map((p) => this.#inbound(p))]
    // awaited by stop(); a test that fails first leaves them to end on their own
    for (const loop of this.#loops) loop.catch(() => undefined)
  }

  async stop(): Promise<void> {
    this.#running = false
    this.#events.emit('change')
    await Promise.all(this.#loops)
  }

  /** Resolves once `n` more sends were accepted than now. */
  async acceptedMore(n: number, timeoutMs = 60_000): Promise<void> {
    const target = this.accepted.length + n
    const signal = AbortSignal.timeout(timeoutMs)
    try {
      while (this.accepted.length < target) await once(this.#events, 'change', { signal })
    } catch (err) {
      if (!signal.aborted) throw err
      throw new Error(`fewer than ${n} sends accepted within ${timeoutMs} ms; refused: ${this.refused.slice(0, 3).join('; ')}`, { cause: err })
    }
  }

  window(from: number, to: number): WindowStats {
    const acceptTimes = this.accepted.map((a) => a.at + a.ms).sort((a, b) => a - b)
    const deliveredTimes = [...this.delivered.values()].map((t) => t[0]!).sort((a, b) => a - b)
    return {
      maxAcceptGapMs: maxGap(acceptTimes, from, to),
      slowestAcceptMs: Math.max(0, ...this.accepted.filter((a) => a.at >= from && a.at <= to).map((a) => a.ms)),
      maxDeliveredGapMs: maxGap(deliveredTimes, from, to),
      accepted: this.accepted.filter((a) => a.at >= from && a.at <= to).length,
    }
  }

  async #sends(to: string): Promise<void> {
    for (let i = 0; this.#running; i++) {
      while (this.#running && this.accepted.filter((a) => a.to === to && !this.delivered.has(a.id)).length >= MAX_IN_FLIGHT) await once(this.#events, 'change')
      const text = `to ${to} #${i}`
      const at = performance.now()
      const res = await this.wabox.api('POST', '/v1/messages', { to, type: 'text', text: { body: text } })
      const ms = performance.now() - at
      if (res.status === 201) {
        this.accepted.push({ to, id: (res.body.messages as { id: string }[])[0]!.id, text, at, ms })
        this.#events.emit('change')
      } else this.refused.push(`${res.status} ${JSON.stringify(res.body)}`)
      await sleep(SEND_EVERY_MS)
    }
  }

  async #inbound(from: string): Promise<void> {
    for (let i = 0; this.#running; i++) {
      const text = `from ${from} #${i}`
      const image = i % 10 === 5
      const body = image ? { type: 'image', to: this.business, data: PIXEL_PNG, mimeType: 'image/png', caption: text } : { type: 'text', to: this.business, text }
      const sent = await this.wabox.control('POST', `/control/phones/${from}/send`, body)
      if (!sent.message) throw new Error(`phone ${from} could not send: ${JSON.stringify(sent)}`)
      this.inbound.push({ from, text, image })
      await sleep(INBOUND_EVERY_MS)
    }
  }
}

/** The longest gap between consecutive times that touches [from, to] (the neighbours just outside count). */
function maxGap(sorted: readonly number[], from: number, to: number): number {
  let max = 0
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]! < from || sorted[i - 1]! > to) continue
    max = Math.max(max, sorted[i]! - sorted[i - 1]!)
  }
  // nothing at all after `from` up to `to`: the gap runs to the window's end at least
  const last = sorted.filter((t) => t <= to).at(-1)
  if (last !== undefined && !sorted.some((t) => t > to)) max = Math.max(max, to - Math.max(last, from))
  return max
}
