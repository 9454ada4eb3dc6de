import type { Logger } from 'pino'
import { NetworkClient, WireRequestError } from '../wire/client.js'
import { CloseCode, type AccountUpdatePush, type EnvelopeFailedPush, type EnvelopePush, type LoginResult, type ReceiptPush } from '../wire/frames.js'
import type { EngineContext } from './context.js'

export type ConnectionState = 'connecting' | 'connected' | 'disconnected'

export interface ShardHandlers {
  envelope(conn: ShardConnection, env: EnvelopePush): void
  receipt(conn: ShardConnection, receipt: ReceiptPush): void
  keysLow(conn: ShardConnection): void
  envelopeFailed(conn: ShardConnection, failed: EnvelopeFailedPush): void
  accountUpdate(conn: ShardConnection, update: AccountUpdatePush): void
  loggedIn(conn: ShardConnection, result: LoginResult): void
  /** The state changed; `lost` when the connection gave up for good (login failed, replaced). */
  state(conn: ShardConnection, lost: boolean): void
  /** The network no longer accepts the number's credentials (`reason` says how); the connection gave up. */
  refused(conn: ShardConnection, reason: string): void
}

/**
 * The connection of one (number, shard) to the network. The client reconnects with backoff
 * and logs in again by itself; requests in flight are resent with their ids.
 */
export class ShardConnection {
  readonly client: NetworkClient
  state: ConnectionState = 'connecting'
  readonly #logger: Logger
  #closed = false
  #refused = false
  #acks: string[] = []

  constructor(
    readonly shard: number,
    readonly shards: number,
    ctx: EngineContext,
    private readonly credentials: { waId: string; password: string },
    private readonly handlers: ShardHandlers,
  ) {
    this.#logger = ctx.logger.child({ waId: credentials.waId, shard, shards })
    this.client = new NetworkClient({ url: ctx.networkUrl, clock: ctx.clock, reconnect: true, logger: this.#logger })
  }

  get connected(): boolean {
    return this.state === 'connected'
  }

  start(): void {
    const c = this.client
    c.on('envelope', (env) => this.handlers.envelope(this, env))
    c.on('receipt', (r) => this.handlers.receipt(this, r))
    c.on('keys.low', () => this.handlers.keysLow(this))
    c.on('envelope.failed', (f) => this.handlers.envelopeFailed(this, f))
    c.on('account.update', (u) => this.handlers.accountUpdate(this, u))
    c.on('connected', () => this.#setState('connected', false))
    c.on('disconnected', (code) => {
      if (code === CloseCode.AUTH_FAILED) this.#refuse(`the network closed the session of +${this.credentials.waId}: the number was registered again, by another device`)
      else if (!this.#closed) this.#setState('connecting', false)
    })
    c.on('replaced', () => {
      this.#logger.warn('another login took this shard over')
      this.#setState('disconnected', true)
    })
    const login = this.client.login(this.credentials.waId, this.credentials.password, { shard: this.shard, shards: this.shards })
    this.client.connect().catch(() => undefined)
    login.then(
      (result) => this.handlers.loggedIn(this, result),
      (err: unknown) => {
        if (this.#closed) return
        if (err instanceof WireRequestError && err.code === 'unauthorized') {
          return this.#refuse(`the network refused the login of +${this.credentials.waId}: the number was registered again, by another device, or the network does not know it`)
        }
        this.#logger.warn({ err }, 'login to the network failed')
        this.#setState('disconnected', true)
      },
    )
  }

  /** Acks a persisted envelope; acks of one tick go in one frame. */
  ack(envelopeId: string): void {
    this.#acks.push(envelopeId)
    if (this.#acks.length > 1) return
    setImmediate(() => {
      const envelopeIds = this.#acks.splice(0)
      if (envelopeIds.length === 0 || this.#closed) return
      // a lost ack only means a redelivery, which the inbound dedup answers
      this.client.request({ t: 'envelope.ack', envelopeIds }).catch((err: unknown) => this.#logger.debug({ err }, 'envelope ack failed'))
    })
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.state = 'disconnected'
    await this.client.close()
  }

  /** Once per connection: a refused login also ends in an AUTH_FAILED close. */
  #refuse(reason: string): void {
    if (this.#closed || this.#refused) return
    this.#refused = true
    this.state = 'disconnected'
    this.handlers.refused(this, reason)
  }

  #setState(state: ConnectionState, lost: boolean): void {
    if (this.#closed) return
    this.state = state
    this.handlers.state(this, lost)
  }
}
