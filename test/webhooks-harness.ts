import { EventEmitter, once } from 'node:events'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterEach, beforeEach } from 'vitest'
import { DEFAULT_SETTINGS, type ApplicationSettings } from '../src/domain/settings.js'
import type { CallbackEvent, InboundMessageEvent, StatusEvent } from '../src/domain/events.js'
import type { Dialect } from '../src/store/database.js'
import type { Store } from '../src/store/store.js'
import { WebhookDispatcher, type WebhookDispatcherOptions } from '../src/webhooks/index.js'
import { createTestDatabase, type TestDatabase } from './helpers/databases.js'

export interface ReceivedRequest {
  raw: Buffer
  headers: http.IncomingHttpHeaders
  url: string
  json: unknown
}

/** What the receiver answers: a status, or a promise of one (a slow or hanging endpoint). */
export type Responder = (req: ReceivedRequest) => number | Promise<number>

/** A real webhook endpoint on 127.0.0.1, port 0, that records every request byte for byte. */
export class Receiver extends EventEmitter {
  readonly requests: ReceivedRequest[] = []
  active = 0
  maxActive = 0
  respond: Responder = () => 200
  /** The answer's body for a status. */
  body: (status: number) => string = (status) => (status === 200 ? 'ok' : `status ${status}`)

  private constructor(private readonly server: http.Server | https.Server) {
    super()
  }

  static async start(tls?: { key: string; cert: string }): Promise<Receiver> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => receiver.handle(req, res)
    const server = tls ? https.createServer(tls, handler) : http.createServer(handler)
    const receiver = new Receiver(server)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return receiver
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port
  }

  url(path = '/hook', host = '127.0.0.1'): string {
    return `${this.server instanceof https.Server ? 'https' : 'http'}://${host}:${this.port}${path}`
  }

  /** Resolves once `predicate` holds, re-checked on every request and response. */
  async until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (predicate()) return
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!predicate()) return
        cleanup()
        resolve()
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`timed out waiting for: ${what} (${this.requests.length} requests, ${this.active} active)`))
      }, timeoutMs)
      const cleanup = () => {
        clearTimeout(timer)
        this.off('change', check)
      }
      this.on('change', check)
    })
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      let json: unknown
      try {
        json = JSON.parse(raw.toString('utf8'))
      } catch {
        json = undefined
      }
      const received: ReceivedRequest = { raw, headers: req.headers, url: req.url ?? '', json }
      this.requests.push(received)
      this.active++
      this.maxActive = Math.max(this.maxActive, this.active)
      this.emit('change')
      Promise.resolve(this.respond(received)).then((status) => {
        if (!res.destroyed) res.writeHead(status, { 'content-type': 'text/plain' }).end(this.body(status))
      }, () => res.destroy()).finally(() => {
        this.active--
        this.emit('change')
      })
    })
  }
}

/** A gate a responder can wait on, opened by the test. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void
  const wait = new Promise<void>((resolve) => { open = resolve })
  return { wait, open }
}

export interface CapturedLog {
  level: number
  msg: string
  [key: string]: unknown
}

/** A pino logger whose lines the test can read. */
export function captureLogger(): { logger: pino.Logger; lines: CapturedLog[] } {
  const lines: CapturedLog[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as CapturedLog)
      done()
    },
  })
  return { logger: pino({ level: 'debug' }, stream), lines }
}

export type WebhookSettings = ApplicationSettings['webhooks']

let numberSeq = 0

/** A phone number with webhook settings; returns its id. */
export async function addNumber(store: Store, webhooks: Partial<WebhookSettings>, settings: Partial<ApplicationSettings> = {}): Promise<string> {
  numberSeq++
  const id = `pn-${numberSeq}-${Math.random().toString(36).slice(2, 8)}`
  await store.numbers.create({ id, cc: '1', number: `555${String(numberSeq).padStart(7, '0')}`, displayName: 'Test' })
  // one event per POST unless a test asks otherwise: most tests count POSTs as events
  await store.numbers.saveSettings(id, { ...settings, webhooks: { ...DEFAULT_SETTINGS.webhooks, batch_size: 1, ...webhooks } })
  return id
}

export interface CloudAccount {
  appId: string
  appSecret: string
  wabaId: string
}

/** An app and a WABA it serves, as `wabox start` provisions them for Cloud-hosted numbers. */
export async function addCloudAccount(store: Store): Promise<CloudAccount> {
  const app = await store.apps.create({ name: 'Test app' })
  const waba = await store.wabas.create({ name: 'Test WABA', appId: app.id })
  return { appId: app.id, appSecret: app.secret, wabaId: waba.id }
}

/** A CLOUD_API number in the account's WABA, with these webhook settings (its /v1/configs/webhook side). */
export async function addCloudNumber(store: Store, account: CloudAccount, webhooks: Partial<WebhookSettings> = {}): Promise<string> {
  const id = await addNumber(store, webhooks)
  await store.numbers.setHosting(id, { wabaId: account.wabaId, platformType: 'CLOUD_API' })
  return id
}

export function statusEvent(id: string, status: StatusEvent['status']['status'] = 'delivered'): StatusEvent {
  return { type: 'status', status: { id, recipient_id: '16315551234', status, timestamp: '1767225600' } }
}

export function textEvent(id: string, body: string, from = '16315551234', name = 'Kerry Fisher'): InboundMessageEvent {
  return {
    type: 'message',
    contact: { profile: { name }, wa_id: from },
    message: { from, id, timestamp: '1767225600', type: 'text', text: { body } },
  }
}

/** Every callback event id in a received body of either format. */
export function eventIds(body: unknown): string[] {
  const b = body as { messages?: { id: string }[]; statuses?: { id: string }[]; entry?: { changes: { value: { messages?: { id: string }[]; statuses?: { id: string }[] } }[] }[] }
  const values = b.entry ? b.entry.flatMap((e) => e.changes.map((c) => c.value)) : [b]
  return values.flatMap((v) => [...(v.messages ?? []), ...(v.statuses ?? [])].map((x) => x.id))
}

export function events(n: number, prefix = 'evt'): CallbackEvent[] {
  return Array.from({ length: n }, (_, i) => statusEvent(`${prefix}-${String(i).padStart(5, '0')}`))
}

/** A fresh database per test, plus receivers and dispatchers that are cleaned up after it. */
export function deliverySetup(dialect: Dialect, label: string) {
  let db: TestDatabase | undefined
  const closers: (() => Promise<void>)[] = []
  beforeEach(async () => {
    db = await createTestDatabase(dialect, { label })
  })
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close()
    await db?.cleanup()
  })
  const current = () => {
    if (!db) throw new Error('no database')
    return db
  }
  return {
    db: current,
    async receiver(tls?: { key: string; cert: string }) {
      const r = await Receiver.start(tls)
      closers.push(() => r.close())
      return r
    },
    dispatcher(opts: Partial<WebhookDispatcherOptions> = {}) {
      const { store, clock } = current()
      const d = new WebhookDispatcher({ store, clock, logger: captureLogger().logger, allowInsecureLoopback: true, ...opts })
      closers.push(() => d.stop(1000))
      return d
    },
  }
}
