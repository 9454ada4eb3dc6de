/** The webhook receiver of `npm run bench`: answers 200 at once and records every status and inbound message it sees. */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

interface OnPremCallback {
  statuses?: { id: string; status: string }[]
  messages?: { id: string }[]
  errors?: unknown[]
}

export class WebhookReceiver {
  readonly #server: http.Server
  /** status → id → arrival times (performance.now()). */
  readonly statuses = new Map<string, Map<string, number[]>>()
  /** Inbound message id → arrival count. */
  readonly inbound = new Map<string, number>()
  posts = 0
  events = 0
  errors = 0
  listeners: ((status: string, id: string, at: number) => void)[] = []

  constructor() {
    this.#server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const at = performance.now()
        this.posts++
        try {
          this.#record(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OnPremCallback, at)
        } catch {
          this.errors++
        }
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 }).end('{}')
      })
    })
    this.#server.keepAliveTimeout = 60_000
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/webhook`
  }

  count(status: string): number {
    return this.statuses.get(status)?.size ?? 0
  }

  #record(body: OnPremCallback, at: number): void {
    for (const s of body.statuses ?? []) {
      this.events++
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
