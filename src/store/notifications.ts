import pg from 'pg'
import type { Logger } from 'pino'
import { ACQUIRE_TIMEOUT_MS, STATEMENT_TIMEOUT_MS } from './engines/bounds.js'

/** Channels of cross-process wake-ups. Payloads are hints: every receiver also polls. */
export const Channel = {
  /** Messages were queued; payload: phone number ids, comma-separated. */
  outbound: 'wabox_outbound',
  /** Callbacks were committed. */
  callbacks: 'wabox_callbacks',
  /** A webhook setting or subscription changed: dispatchers reload their configuration. */
  webhookConfig: 'wabox_webhook_config',
  /** A number's registration or shard count changed: CoreApps reconcile now. */
  reconcile: 'wabox_reconcile',
} as const
export type ChannelName = (typeof Channel)[keyof typeof Channel]

const RECONNECT_MS = 1_000
/**
 * A frozen server would hold a connect, a LISTEN or a NOTIFY forever: the listener would never
 * reconnect, and notifications would pile up behind one unanswered NOTIFY.
 */
const BOUNDED: pg.ClientConfig = { connectionTimeoutMillis: ACQUIRE_TIMEOUT_MS, query_timeout: STATEMENT_TIMEOUT_MS, keepAlive: true }
/** PostgreSQL refuses NOTIFY payloads from 8,000 bytes up. */
const MAX_PAYLOAD = 7_000

/**
 * PostgreSQL LISTEN/NOTIFY between the processes of a deployment. Notifications of one tick
 * are coalesced into one per channel. A lost notification costs one poll interval, never a
 * message: the listener reconnects on its own, and every receiver keeps polling.
 */
export class Notifier {
  readonly #url: string | undefined
  readonly #logger: Logger
  readonly #handlers = new Map<ChannelName, ((ids: string[]) => void)[]>()
  readonly #pending = new Map<ChannelName, Set<string>>()
  /** The NOTIFY connection, once asked for; dropped when it fails, so the next notify connects anew. */
  #sender: Promise<pg.Client> | undefined
  #listener: pg.Client | undefined
  #closed = false

  /** `url` undefined (an engine without LISTEN/NOTIFY): nothing is sent or heard, and receivers rely on their polls. */
  constructor(url: string | undefined, logger: Logger) {
    this.#url = url
    this.#logger = logger
  }

  /** Calls `fn` with the payload ids of each notification on `channel` (from this process too). */
  async listen(channel: ChannelName, fn: (ids: string[]) => void): Promise<void> {
    const list = this.#handlers.get(channel) ?? []
    this.#handlers.set(channel, [...list, fn])
    if (list.length > 0 || !this.#url) return
    if (this.#listener) await this.#listener.query(`LISTEN ${channel}`)
    else await this.#connectListener()
  }

  notify(channel: ChannelName, id = ''): void {
    if (this.#closed || !this.#url) return
    const pending = this.#pending.get(channel)
    if (pending) {
      pending.add(id)
      return
    }
    this.#pending.set(channel, new Set([id]))
    setImmediate(() => {
      const ids = [...(this.#pending.get(channel) ?? [])]
      this.#pending.delete(channel)
      this.#send(channel, ids.join(',').slice(0, MAX_PAYLOAD)).catch((err: unknown) => this.#logger.debug({ err, channel }, 'notify failed; receivers poll'))
    })
  }

  async close(): Promise<void> {
    this.#closed = true
    await Promise.all([this.#sender?.then((c) => c.end()), this.#listener?.end()].map((p) => p?.catch(() => undefined)))
  }

  async #send(channel: ChannelName, payload: string): Promise<void> {
    this.#sender ??= this.#connectSender()
    const sender = await this.#sender
    await sender.query('SELECT pg_notify($1, $2)', [channel, payload])
  }

  /**
   * A failed connect emits no 'error' event: a client kept after one took every later query
   * into a queue that never ran, and the process's wake-ups were lost until a restart.
   */
  #connectSender(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.#url, ...BOUNDED })
    const connected = client.connect().then(() => client, (err: unknown) => {
      if (this.#sender === connected) this.#sender = undefined
      void client.end().catch(() => undefined)
      throw err
    })
    client.on('error', () => {
      if (this.#sender === connected) this.#sender = undefined
    })
    return connected
  }

  async #connectListener(): Promise<void> {
    if (!this.#url) return
    const client = new pg.Client({ connectionString: this.#url, ...BOUNDED })
    client.on('notification', (n) => {
      const ids = n.payload ? n.payload.split(',').filter(Boolean) : []
      for (const fn of this.#handlers.get(n.channel as ChannelName) ?? []) fn(ids)
    })
    client.on('error', (err) => {
      this.#logger.warn({ err }, 'the LISTEN connection failed; reconnecting')
      if (this.#listener === client) this.#listener = undefined
      void client.end().catch(() => undefined)
      this.#reconnectLater()
    })
    await client.connect()
    for (const channel of this.#handlers.keys()) await client.query(`LISTEN ${channel}`)
    this.#listener = client
  }

  #reconnectLater(): void {
    if (this.#closed) return
    setTimeout(() => {
      if (this.#closed || this.#listener) return
      this.#connectListener().catch(() => this.#reconnectLater())
    }, RECONNECT_MS).unref()
  }
}
