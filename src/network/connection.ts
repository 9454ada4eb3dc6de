import type { Logger } from 'pino'
import type WebSocket from 'ws'
import type { Clock } from '../clock.js'
import { decodeClientFrame, encodeFrame, FrameError } from '../wire/codec.js'
import { writeAtTickEnd } from '../wire/tick-writes.js'
import { CloseCode, PROTOCOL_VERSION, SHARD_COUNTS, type ClientFrame, type Login, type LoginResult, type ServerFrame } from '../wire/frames.js'
import type { Account, Accounts } from './accounts.js'
import type { Integrity } from './integrity.js'
import type { KeyDirectory } from './keys.js'
import type { NetworkLimits } from './options.js'
import { pushFrameOf, type InboxItem, type Relay } from './relay.js'
import type { RequestMemo } from './request-memo.js'
import { handleRequest } from './request-handlers.js'
import type { RoutedConnection, Router } from './router.js'
import type { TemplateRegistry } from './templates.js'
import type { UserIds } from './user-ids.js'
import { WireFailure } from './wire-failure.js'
import { ServerClosing } from './write-batcher.js'

export interface NetworkServices {
  accounts: Accounts
  keys: KeyDirectory
  relay: Relay
  integrity: Integrity
  templates: TemplateRegistry
  router: Router
  memo: RequestMemo
  userIds: UserIds
  limits: NetworkLimits
  clock: Clock
  logger: Logger
}

/** Inbox rows read per backlog query; the next page waits until the socket took this one. */
const BACKLOG_PAGE = 256
/** Above this many unsent bytes, live pushes stop and delivery falls back to paging from the inbox. */
const HIGH_WATER_BYTES = 1024 * 1024
/** After a backlog read failed, when to read it again. */
const BACKLOG_RETRY_MS = 1_000

/**
 * One WebSocket: decodes frames, answers requests with acks, and delivers the inbox of
 * its (wa_id, shard) in seq order. Live pushes go straight out while the connection is
 * caught up; otherwise (after login, or when the socket is backed up) it pages the inbox.
 */
export class Connection implements RoutedConnection {
  account: Account | undefined
  shard = 0
  shards = 1
  /** Cleared by each keep-alive ping, set by the pong. */
  alive = true
  readonly #ws: WebSocket
  readonly #s: NetworkServices
  #login: Promise<void> | undefined
  #closed = false
  #draining = false
  #cursor = 0
  #pumping = false
  #dirty = false
  /** A backlog read failed: items may wait unread, so new ones queue behind them until it is read. */
  #behind = false

  constructor(ws: WebSocket, services: NetworkServices) {
    this.#ws = ws
    this.#s = services
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(data, isBinary))
    ws.on('pong', () => (this.alive = true))
    ws.on('close', () => {
      this.#closed = true
      if (this.account) services.router.detach(this)
    })
    ws.on('error', (err) => services.logger.debug({ err: err.message }, 'connection error'))
  }

  get waId(): string {
    return this.account?.waId ?? ''
  }

  /** Server shutdown: ignore new frames (the client resends them after reconnecting). */
  drain(): void {
    this.#draining = true
  }

  /** Keep-alive: drop a connection that did not answer the previous ping. */
  heartbeat(): void {
    if (!this.alive) return void this.#ws.terminate()
    this.alive = false
    this.#ws.ping()
  }

  close(code: number, reason: string): void {
    if (this.#closed) return
    this.#closed = true
    this.#ws.close(code, reason)
  }

  /** A freshly committed inbox item for this connection. */
  offer(item: InboxItem): void {
    if (this.#closed || item.seq <= this.#cursor) return
    if (this.#pumping || this.#behind || this.#ws.bufferedAmount > HIGH_WATER_BYTES) return this.#pump()
    this.#push(item)
  }

  send(frame: ServerFrame, onWritten?: (err?: Error) => void): void {
    if (this.#closed) return onWritten?.(new Error('closed'))
    writeAtTickEnd(this.#ws)
    this.#ws.send(encodeFrame(frame), onWritten)
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#closed || this.#draining) return
    let frame: ClientFrame
    try {
      if (!isBinary) throw new Error('text frames are not part of the protocol')
      frame = decodeClientFrame(data)
    } catch (err) {
      const message = (err as Error).message
      // a well-formed request with a bad field is refused alone: closing would make the client resend it forever
      if (err instanceof FrameError && err.refusal) {
        this.#s.logger.debug({ err: message, waId: this.waId }, 'request refused')
        return this.#nack(err.refusal.id, new WireFailure(err.refusal.code, message))
      }
      this.#s.logger.debug({ err: message }, 'protocol error')
      // A close reason is at most 123 bytes, and the message may quote client input.
      return this.close(CloseCode.PROTOCOL_ERROR, message.replace(/[^\x20-\x7e]/g, '?').slice(0, 120))
    }
    // Frames behind a login wait for it, in arrival order.
    if (this.#login) void this.#login.then(() => this.#dispatch(frame))
    else this.#dispatch(frame)
  }

  #dispatch(frame: ClientFrame): void {
    if (this.#closed || this.#draining) return
    if (frame.t === 'login') {
      this.#login = this.#handleLogin(frame)
        .catch((err: unknown) => this.#nack(frame.id, err))
        .finally(() => (this.#login = undefined))
      return
    }
    let result: Promise<unknown>
    try {
      result = handleRequest(this, frame, this.#s)
    } catch (err) {
      result = Promise.reject(err)
    }
    result.then(
      (value) => this.#ack(frame.id, value),
      (err: unknown) => this.#nack(frame.id, err),
    )
  }

  async #handleLogin(frame: Login): Promise<void> {
    const { accounts, keys, router, clock } = this.#s
    if (this.account) return this.#nack(frame.id, new WireFailure('bad_request', 'already logged in'))
    const account = accounts.authenticate(frame.waId, frame.password)
    if (!account) {
      this.#nack(frame.id, new WireFailure('unauthorized', 'wrong wa_id or password'))
      return this.close(CloseCode.AUTH_FAILED, 'wrong wa_id or password')
    }
    const shards = frame.shards ?? 1
    const shard = frame.shard ?? 0
    if (!(SHARD_COUNTS as readonly number[]).includes(shards) || shard >= shards || (!account.business && shards !== 1)) {
      return this.#nack(frame.id, new WireFailure('bad_request', `shards is one of ${SHARD_COUNTS.join(', ')} (1 for phones), 0 <= shard < shards`))
    }
    this.account = account
    this.shard = shard
    this.shards = shards
    // Until the backlog is read, new items only mark it dirty: pushing them first would reorder.
    this.#pumping = true
    router.attach(this, CloseCode.REPLACED)
    try {
      const result: LoginResult = { serverTime: clock.now(), preKeysLeft: await keys.preKeysLeft(account.waId) }
      this.#ack(frame.id, result)
    } finally {
      this.#pumping = false
      this.#pump()
    }
  }

  #pump(): void {
    if (this.#pumping) {
      this.#dirty = true
      return
    }
    this.#pumping = true
    this.#drainBacklog()
      .then(() => (this.#behind = false), (err: unknown) => {
        this.#s.logger.error({ err, waId: this.waId }, 'delivery failed; reading the backlog again')
        // pushing a newer item now would move the cursor past the unread ones
        this.#behind = true
        setTimeout(() => this.#pump(), BACKLOG_RETRY_MS).unref()
      })
      .finally(() => (this.#pumping = false))
  }

  async #drainBacklog(): Promise<void> {
    const { relay } = this.#s
    do {
      this.#dirty = false
      for (;;) {
        if (this.#closed) return
        const items = await relay.backlog(this.waId, this.shard, this.shards, this.#cursor, BACKLOG_PAGE)
        if (items.length < BACKLOG_PAGE) {
          for (const item of items) this.#push(item)
          break
        }
        const last = items.pop()!
        for (const item of items) this.#push(item)
        await new Promise<void>((resolve) => this.#push(last, () => resolve()))
      }
    } while (this.#dirty)
  }

  #push(item: InboxItem, onWritten?: (err?: Error) => void): void {
    this.#cursor = item.seq
    const notice = item.type === 'failed'
    this.send(pushFrameOf(item, this.#userIdOf), (err) => {
      if (notice && !err) void this.#s.relay.dropNotice(item.seq).catch(() => {})
      onWritten?.(err)
    })
  }

  /** A business learns each user by their id towards it (BSUID); phones never see one. */
  readonly #userIdOf = (counterparty: string): string | undefined =>
    this.account && this.#s.userIds.towards(this.account, counterparty)

  #ack(id: string, result: unknown): void {
    this.send({ v: PROTOCOL_VERSION, t: 'ack', id, ok: true, result })
  }

  #nack(id: string, err: unknown): void {
    if (err instanceof ServerClosing) return
    if (err instanceof WireFailure) {
      this.send({ v: PROTOCOL_VERSION, t: 'ack', id, ok: false, error: { code: err.code, message: err.message } })
      return
    }
    this.#s.logger.error({ err, waId: this.waId }, 'request failed')
    this.send({ v: PROTOCOL_VERSION, t: 'ack', id, ok: false, error: { code: 'internal', message: 'internal error' } })
  }
}
