/**
 * The webhook receiver of `npm run bench`: answers 200 (after `latencyMs`, on a timer, like a
 * receiver that does some I/O) and records every status and inbound message it sees, in the
 * On-Prem format and in the Cloud format alike. It counts the TCP connections it accepted, so
 * the report shows whether wabox's webhooks kept them alive.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

interface Events {
  statuses?: { id: string; status: string }[]
  messages?: { id: string }[]
  errors?: unknown[]
}

/** On-Prem bodies are the events; Cloud bodies carry them in `entry[].changes[].value`. */
interface CallbackBody extends Events {
  entry?: { changes?: { value?: Events }[] }[]
}

export class WebhookReceiver {
  readonly #server: http.Server
  /** status → id → arrival times (performance.now()). */
  readonly statuses = new Map<string, Map<string, number[]>>()
  /** Inbound message id → arrival count. */
  readonly inbound = new Map<string, number>()
  posts = 0
  events = 0
  /** Status events received, every status and duplicates included. */
  statusEvents = 0
  errors = 0
  /** TCP connections accepted so far. */
  connections = 0
  listeners: ((status: string, id: string, at: number) => void)[] = []

  constructor(readonly latencyMs = 0) {
    this.#server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const at = performance.now()
        this.posts++
        try {
          this.#record(JSON.parse(Buffer.concat(chunks).toString('utf8')) as CallbackBody, at)
        } catch {
          this.errors++
        }
        const answer = () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 }).end('{}')
        if (latencyMs > 0) setTimeout(answer, latencyMs)
        else answer()
      })
    })
    this.#server.on('connection', () => this.connections++)
    this.#server.keepAliveTimeout = 60_000
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/webhook`
  }

  count(status: string): number {
    return this.statuses.get(status)?.size ?? 0
  }

  #record(body: CallbackBody, at: number): void {
    this.#events(body, at)
    for (const entry of body.entry ?? []) for (const change of entry.changes ?? []) if (change.value) this.#events(change.value, at)
  }

  #events(body: Events, at: number): void {
    for (const s of body.statuses ?? []) {
      this.events++
      this.statusEvents++
      let byId = this.statuses.get(s.status)
      if (!byId) this.statuses.set(s.status, (byId = new Map()))
      const times = byId.get(s.id)
      if (times) times.push(at)
      else byId.set(s.id, [at])
      for (const l of this.listeners) l(s.status, s.id, at)
    }
    for (const m of body.messages ?? []) {
      this.events++
      this.inbound.set(m.id, (this.inbound.get(m.id) ?? 0) + 1)
    }
    this.errors += body.errors?.length ?? 0
  }

  close(): Promise<void> {
    this.#server.closeAllConnections()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }
}
