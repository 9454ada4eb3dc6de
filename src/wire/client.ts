import { EventEmitter } from 'node:events'
import { pino, type Logger } from 'pino'
import WebSocket from 'ws'
import { systemClock, type Clock } from '../clock.js'
import { randomToken } from '../ids.js'
import { decodeServerFrame, encodeFrame, MAX_FRAME_BYTES, type DistributiveOmit } from './codec.js'
import {
  CloseCode,
  PROTOCOL_VERSION,
  type ClientFrame,
  type AccountUpdatePush,
  type EnvelopeFailedPush,
  type EnvelopePush,
  type KeysLowPush,
  type LoginResult,
  type ReceiptPush,
  type ServerFrame,
  type TypingPush,
} from './frames.js'
import { BLOB_IDLE_TIMEOUT_MS, downloadBlob, uploadBlob, type BlobTarget } from './blob-http.js'
import { RequestCancelledError, toError, WireRequestError } from './request-error.js'
import { writeAtTickEnd } from './tick-writes.js'

export { RequestCancelledError, WireRequestError } from './request-error.js'

export interface NetworkClientOptions {
  /** `ws://host:port/ws`; blob calls go to the same host over HTTP. */
  url: string
  clock?: Clock
  /** Reconnect with exponential backoff (100 ms .. 5 s) when the connection drops. Default true. */
  reconnect?: boolean
  logger?: Logger
  /**
   * How often the client pings; a ping unanswered by the next one drops the connection, and a
   * connection not open within two intervals is given up. Default 15 s.
   */
  pingIntervalMs?: number
  /** A blob call without progress for this long fails (the caller retries). Default BLOB_IDLE_TIMEOUT_MS, 30 s. */
  blobIdleTimeoutMs?: number
}

export interface NetworkClientEvents {
  envelope: [EnvelopePush]
  receipt: [ReceiptPush]
  typing: [TypingPush]
  'keys.low': [KeysLowPush]
  'envelope.failed': [EnvelopeFailedPush]
  'account.update': [AccountUpdatePush]
  connected: []
  disconnected: [code: number, reason: string]
  replaced: []
}

export type ClientRequest = DistributiveOmit<ClientFrame, 'v' | 'id'> & { id?: string }

interface InFlight {
  /** The encoded frame, resent as is after a reconnect. */
  bytes: Uint8Array
  /** The socket it was last written to: resent only on a newer one. */
  sentOn?: WebSocket
  type: string
  promise: Promise<unknown>
  resolve(result: unknown): void
  reject(err: Error): void
}

interface Credentials {
  waId: string
  password: string
  shard?: number
  shards?: number
}

interface Waiter<T> {
  resolve(value: T): void
  reject(err: Error): void
}

const MIN_BACKOFF_MS = 100
const MAX_BACKOFF_MS = 5000

/**
 * One connection to the wabox network, used by the CoreApp (one per shard) and by the
 * simulated phones. Requests survive reconnects: they are resent with their id, and the
 * server answers a retried id with the original result.
 */
export class NetworkClient extends EventEmitter<NetworkClientEvents> {
  readonly #url: string
  readonly #httpBase: string
  readonly #clock: Clock
  readonly #reconnect: boolean
  readonly #logger: Logger
  readonly #pingIntervalMs: number
  readonly #blobIdleTimeoutMs: number
  readonly #idPrefix = randomToken(6)
  #nextId = 0
  #ws: WebSocket | undefined
  #ready = false
  #closed = false
  #attempt = 0
  #reconnectTimer: NodeJS.Timeout | undefined
  #pingTimer: NodeJS.Timeout | undefined
  #awaitingPong = false
  #inFlight = new Map<string, InFlight>()
  #credentials: Credentials | undefined
  #loginId: string | undefined
  #loginWaiters: Waiter<LoginResult>[] = []
  #connectWaiters: Waiter<void>[] = []

  constructor(opts: NetworkClientOptions) {
    super()
    this.#url = opts.url
    const url = new URL(opts.url)
    this.#httpBase = `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`
    this.#clock = opts.clock ?? systemClock
    this.#reconnect = opts.reconnect ?? true
    this.#logger = opts.logger ?? pino({ level: 'silent' })
    this.#pingIntervalMs = opts.pingIntervalMs ?? 15_000
    this.#blobIdleTimeoutMs = opts.blobIdleTimeoutMs ?? BLOB_IDLE_TIMEOUT_MS
  }

  /** True when the socket is open and, if credentials were given, logged in. */
  get connected(): boolean {
    return this.#ready
  }

  /** Resolves on the first successful connection; with `reconnect`, failed attempts are retried. */
  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('client closed'))
    if (this.#ready) return Promise.resolve()
    const connected = new Promise<void>((resolve, reject) => this.#connectWaiters.push({ resolve, reject }))
    if (!this.#ws && !this.#reconnectTimer) this.#open()
    return connected
  }

  /**
   * Sends `frame` and resolves with its ack's result. An aborted `signal` rejects it with a
   * RequestCancelledError and forgets it: it is not resent after a reconnect.
   */
  request<R = unknown>(frame: ClientRequest, opts: { signal?: AbortSignal } = {}): Promise<R> {
    if (this.#closed) return Promise.reject(new Error('client closed'))
    if (opts.signal?.aborted) return Promise.reject(new RequestCancelledError(frame.t, false))
    const id = frame.id ?? `${this.#idPrefix}.${++this.#nextId}`
    const existing = this.#inFlight.get(id)
    if (existing) return existing.promise as Promise<R>
    const bytes = encodeFrame({ ...frame, v: PROTOCOL_VERSION, id } as ClientFrame)
    // the server cannot read a bigger frame to refuse it: it closes the socket, and a resend would close it again
    if (bytes.byteLength > MAX_FRAME_BYTES) {
      return Promise.reject(new WireRequestError('too_large', `${frame.t} frame is ${bytes.byteLength} bytes, over the limit of ${MAX_FRAME_BYTES} bytes`))
    }
    let resolve!: InFlight['resolve']
    let reject!: InFlight['reject']
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res
      reject = rej
    })
    const entry: InFlight = { bytes, type: frame.t, promise, resolve, reject }
    this.#inFlight.set(id, entry)
    if (this.#ready) this.#sendEntry(entry)
    if (opts.signal) this.#cancelOn(opts.signal, id, entry)
    return promise as Promise<R>
  }

  /** Logs in; the credentials are replayed first thing after every reconnect. */
  login(waId: string, password: string, opts: { shard?: number; shards?: number } = {}): Promise<LoginResult> {
    if (this.#closed) return Promise.reject(new Error('client closed'))
    this.#credentials = { waId, password, shard: opts.shard, shards: opts.shards }
    const result = new Promise<LoginResult>((resolve, reject) => this.#loginWaiters.push({ resolve, reject }))
    // Hold other requests back until the server has accepted the login.
    this.#ready = false
    if (this.#ws?.readyState === WebSocket.OPEN) this.#sendLogin()
    return result
  }

  async uploadBlob(bytes: Uint8Array): Promise<string> {
    return uploadBlob(this.#blobTarget(), bytes)
  }

  async downloadBlob(blobId: string): Promise<Uint8Array> {
    return downloadBlob(this.#blobTarget(), blobId)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#ready = false
    clearTimeout(this.#reconnectTimer)
    this.#failAll(new Error('client closed'))
    const ws = this.#ws
    if (!ws || ws.readyState === WebSocket.CLOSED) return
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve())
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate()
      else ws.close(1000, 'client closed')
    })
  }

  #open(): void {
    // a network frozen mid-handshake would otherwise hold connect() (and registration) for good
    const ws = new WebSocket(this.#url, { perMessageDeflate: false, handshakeTimeout: 2 * this.#pingIntervalMs })
    ws.binaryType = 'nodebuffer'
    this.#ws = ws
    ws.on('open', () => this.#onOpen(ws))
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(ws, data, isBinary))
    ws.on('error', (err) => this.#logger.debug({ err: err.message }, 'network connection error'))
    ws.on('close', (code, reason) => this.#onClose(ws, code, reason.toString()))
    ws.on('pong', () => (this.#awaitingPong = false))
  }

  #onOpen(ws: WebSocket): void {
    this.#attempt = 0
    this.#startPing(ws)
    if (this.#credentials) this.#sendLogin()
    else this.#becomeReady()
  }

  #sendLogin(): void {
    const credentials = this.#credentials
    if (!credentials) return
    this.#loginId = `${this.#idPrefix}.login.${++this.#nextId}`
    this.#send({ v: PROTOCOL_VERSION, id: this.#loginId, t: 'login', ...credentials })
  }

  #becomeReady(): void {
    this.#ready = true
    for (const entry of this.#inFlight.values()) if (entry.sentOn !== this.#ws) this.#sendEntry(entry)
    for (const waiter of this.#connectWaiters.splice(0)) waiter.resolve()
    this.emit('connected')
  }

  #onMessage(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    if (ws !== this.#ws) return
    let frame: ServerFrame
    try {
      if (!isBinary) throw new Error('text frame')
      frame = decodeServerFrame(data)
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message }, 'undecodable frame from the network, reconnecting')
      ws.terminate()
      return
    }
    switch (frame.t) {
      case 'ack':
        if (frame.id === this.#loginId) return this.#onLoginAck(frame.ok, frame.result as LoginResult, frame.error)
        return this.#onAck(frame.id, frame.ok, frame.result, frame.error)
      case 'envelope':
        return void this.emit('envelope', frame)
      case 'receipt':
        return void this.emit('receipt', frame)
      case 'typing':
        return void this.emit('typing', frame)
      case 'keys.low':
        return void this.emit('keys.low', frame)
      case 'envelope.failed':
        return void this.emit('envelope.failed', frame)
      case 'account.update':
        return void this.emit('account.update', frame)
    }
  }

  #onLoginAck(ok: boolean, result: LoginResult, error: { code: string; message: string } | undefined): void {
    this.#loginId = undefined
    if (!ok) {
      const err = toError(error)
      if (this.#reconnect && this.#loginWaiters.length === 0 && err.code !== 'unauthorized') {
        // the login after a reconnect failed on the server's side (its database, say): the
        // server keeps this connection open, and it would never be ready; a new one logs in
        this.#logger.warn({ err }, 'logging in again failed; reconnecting')
        this.#ws?.terminate()
        return
      }
      // Wrong credentials will not get better by retrying; the server closes with AUTH_FAILED.
      this.#credentials = undefined
      this.#failAll(err)
      return
    }
    this.#logger.debug({ serverTime: result.serverTime, skewMs: this.#clock.now() - result.serverTime }, 'logged in')
    for (const waiter of this.#loginWaiters.splice(0)) waiter.resolve(result)
    this.#becomeReady()
  }

  #onAck(id: string, ok: boolean, result: unknown, error: { code: string; message: string } | undefined): void {
    const entry = this.#inFlight.get(id)
    if (!entry) return // an ack for a request resent after a reconnect, answered twice
    this.#inFlight.delete(id)
    if (ok) entry.resolve(result)
    else entry.reject(toError(error))
  }

  #onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.#ws) return
    clearInterval(this.#pingTimer)
    this.#ws = undefined
    this.#ready = false
    this.#loginId = undefined
    this.#logger.debug({ code, reason }, 'network connection closed')
    this.emit('disconnected', code, reason)
    if (this.#closed) return
    if (code === CloseCode.REPLACED) {
      // Another process owns this (wa_id, shard) now; fighting back would loop forever.
      this.#closed = true
      this.#failAll(new WireRequestError('unauthorized', 'connection replaced by a newer login'))
      this.emit('replaced')
      return
    }
    if (code === CloseCode.AUTH_FAILED || !this.#reconnect) {
      this.#closed = true
      this.#failAll(code === CloseCode.AUTH_FAILED ? new WireRequestError('unauthorized', reason || 'authentication failed') : new Error(`connection closed (${code})`))
      return
    }
    const delay = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.#attempt++)
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined
      if (!this.#closed) this.#open()
    }, delay * (0.5 + Math.random() / 2))
  }

  #startPing(ws: WebSocket): void {
    clearInterval(this.#pingTimer)
    this.#awaitingPong = false
    this.#pingTimer = setInterval(() => {
      if (this.#awaitingPong) return ws.terminate()
      this.#awaitingPong = true
      ws.ping()
    }, this.#pingIntervalMs)
    this.#pingTimer.unref()
  }

  #cancelOn(signal: AbortSignal, id: string, entry: InFlight): void {
    // forgotten, it is not resent after a reconnect; one already written may still have reached
    // the network before it stopped answering, which the error's `sent` tells the caller
    const cancel = () => {
      if (this.#inFlight.get(id) !== entry) return
      this.#inFlight.delete(id)
      entry.reject(new RequestCancelledError(entry.type, entry.sentOn !== undefined))
    }
    signal.addEventListener('abort', cancel, { once: true })
    const settled = () => signal.removeEventListener('abort', cancel)
    entry.promise.then(settled, settled)
  }

  #sendEntry(entry: InFlight): void {
    entry.sentOn = this.#ws
    this.#send(entry.bytes)
  }

  #send(frame: ClientFrame | Uint8Array): void {
    const ws = this.#ws
    if (ws?.readyState !== WebSocket.OPEN) return
    writeAtTickEnd(ws)
    ws.send(frame instanceof Uint8Array ? frame : encodeFrame(frame))
  }

  #failAll(err: Error): void {
    for (const entry of this.#inFlight.values()) entry.reject(err)
    this.#inFlight.clear()
    for (const waiter of this.#loginWaiters.splice(0)) waiter.reject(err)
    for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(err)
  }

  #blobTarget(): BlobTarget {
    if (!this.#credentials) throw new WireRequestError('unauthorized', 'login first: blob calls use the login credentials')
    const { waId, password } = this.#credentials
    return { base: this.#httpBase, authorization: 'Basic ' + Buffer.from(`${waId}:${password}`).toString('base64'), idleTimeoutMs: this.#blobIdleTimeoutMs }
  }
}
