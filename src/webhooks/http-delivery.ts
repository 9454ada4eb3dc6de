import { performance } from 'node:perf_hooks'
import tls from 'node:tls'
import { Agent, type Dispatcher } from 'undici'
import { checkHost, guardedLookup, systemResolver, WebhookUrlRefused, type Resolver, type UrlPolicy, type WebhookTarget } from './url-guard.js'

export interface DeliveryRequest {
  phoneNumberId: string
  target: WebhookTarget
  /** `settings.webhooks.headers`. */
  headers: Record<string, string>
  /** Uploaded CA trusted in addition to the public ones. */
  ca: string | null
  maxConcurrent: number
  body: Buffer
  signature: string
}

/** Metric label of an attempt: `success`, the HTTP status, or what went wrong (`error`: on our side). */
export type AttemptResult = 'success' | `${number}` | 'timeout' | 'refused' | 'tls' | 'network' | 'error' | 'aborted'

export interface DeliveryResult {
  httpStatus: number | null
  error: string | null
  result: AttemptResult
  latencyMs: number
}

export interface WebhookHttpOptions {
  policy: UrlPolicy
  requestTimeoutMs: number
  userAgent: string
  /** Replaces the per-number agents (tests). Connections are then not pinned by the URL guard. */
  dispatcher?: Dispatcher | undefined
  resolve?: Resolver | undefined
}

/** Headers the sender owns: custom headers may not replace them. */
const RESERVED = new Set(['host', 'content-type', 'content-length', 'transfer-encoding', 'connection', 'x-hub-signature-256'])
const ERROR_SNIPPET_BYTES = 300
const SHUTDOWN: DeliveryResult = { httpStatus: null, error: 'aborted: dispatcher stopping', result: 'aborted', latencyMs: 0 }

class ShutdownAbort extends Error {}
class RequestTimeout extends Error {}

/**
 * POSTs callback bodies. Each number gets its own connection pool (its CA, its concurrency,
 * a DNS lookup that refuses forbidden addresses), so one number's endpoint cannot use up
 * another's sockets. Requests go through undici's dispatch() with a handler of our own: at one
 * callback per POST, request()'s abort signals and response streams cost more CPU than the rest
 * of the POST's bookkeeping.
 */
export class WebhookHttp {
  readonly #agents = new Map<string, { maxConcurrent: number; insecure: boolean; ca: string | null; agent: Agent }>()
  /** Header list of each headers setting, without the signature; rebuilt when the target changes. */
  readonly #headerLists = new WeakMap<Record<string, string>, { target: WebhookTarget; list: string[] }>()
  /** In the order they were sent, which is also the order of their deadlines. */
  readonly #inFlight = new Set<PostHandler>()
  /** Set for the oldest POST's deadline: one timer for all of them, not one per POST. */
  #deadlineTimer: NodeJS.Timeout | null = null
  #stopping = false

  constructor(private readonly opts: WebhookHttpOptions) {}

  async post(req: DeliveryRequest): Promise<DeliveryResult> {
    if (this.#stopping) return SHUTDOWN
    const started = performance.now()
    const dispatcher = this.opts.dispatcher ?? this.#agent(req)
    if (this.opts.dispatcher) {
      // no pinned lookup behind an injected dispatcher: check before connecting instead
      try {
        await checkHost(req.target.url.hostname, req.target.insecure, this.opts.policy, this.opts.resolve ?? systemResolver)
      } catch (err) {
        return { httpStatus: null, ...describeError(err), latencyMs: performance.now() - started }
      }
      if (this.#stopping) return SHUTDOWN
    }
    const url = req.target.url
    const headers = [...this.#headerList(req), 'x-hub-signature-256', req.signature]
    return new Promise<DeliveryResult>((resolve) => {
      const handler = new PostHandler(started, (result) => {
        this.#inFlight.delete(handler)
        resolve(result)
      })
      handler.deadline = performance.now() + this.opts.requestTimeoutMs
      this.#inFlight.add(handler)
      this.#armDeadline()
      dispatcher.dispatch({ origin: url.origin, path: url.pathname + url.search, method: 'POST', headers, body: req.body }, handler)
    })
  }

  #armDeadline(): void {
    if (this.#deadlineTimer) return
    const oldest = this.#inFlight.values().next()
    if (oldest.done) return
    // unref: it may outlive the POST it was set for, and the POSTs' sockets hold the process anyway
    this.#deadlineTimer = setTimeout(() => this.#expire(), Math.max(0, oldest.value.deadline - performance.now())).unref()
  }

  #expire(): void {
    this.#deadlineTimer = null
    const now = performance.now()
    for (const handler of this.#inFlight) {
      if (handler.deadline > now) break
      // out of the set at once: its abort may take until undici reports it
      this.#inFlight.delete(handler)
      handler.abort(new RequestTimeout(`no answer within ${this.opts.requestTimeoutMs} ms`))
    }
    this.#armDeadline()
  }

  /** Takes POSTs again after abortAll(). */
  reopen(): void {
    this.#stopping = false
  }

  /** Shutdown: aborts the POSTs in flight (their result is `aborted`) and refuses new ones. */
  abortAll(): void {
    this.#stopping = true
    for (const handler of this.#inFlight) handler.abort(new ShutdownAbort('dispatcher stopping'))
  }

  async close(): Promise<void> {
    this.abortAll()
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer)
    this.#deadlineTimer = null
    const agents = [...this.#agents.values()].map((a) => a.agent)
    this.#agents.clear()
    await Promise.all(agents.map((a) => a.destroy().catch(() => undefined)))
  }

  #headerList(req: DeliveryRequest): string[] {
    const cached = this.#headerLists.get(req.headers)
    if (cached?.target === req.target) return cached.list
    const headers: Record<string, string> = {}
    if (req.target.authorization) headers.authorization = req.target.authorization
    for (const [name, value] of Object.entries(req.headers)) {
      if (!RESERVED.has(name.toLowerCase())) headers[name.toLowerCase()] = value
    }
    headers['content-type'] = 'application/json'
    headers['user-agent'] ??= this.opts.userAgent
    const list = Object.entries(headers).flat()
    this.#headerLists.set(req.headers, { target: req.target, list })
    return list
  }

  /** The number's pool; rebuilt when its CA, scheme or concurrency changes. */
  #agent(req: DeliveryRequest): Agent {
    const current = this.#agents.get(req.phoneNumberId)
    if (current && current.maxConcurrent === req.maxConcurrent && current.insecure === req.target.insecure && current.ca === req.ca) return current.agent
    if (current) void current.agent.close().catch(() => undefined)
    const agent = new Agent({
      connections: req.maxConcurrent,
      headersTimeout: this.opts.requestTimeoutMs,
      bodyTimeout: this.opts.requestTimeoutMs,
      keepAliveTimeout: 30_000,
      connect: {
        ...(req.ca ? { ca: [...tls.rootCertificates, req.ca] } : {}),
        lookup: guardedLookup(req.target.insecure, this.opts.policy, this.opts.resolve ?? systemResolver),
        timeout: Math.min(10_000, this.opts.requestTimeoutMs),
      },
    })
    this.#agents.set(req.phoneNumberId, { maxConcurrent: req.maxConcurrent, insecure: req.target.insecure, ca: req.ca, agent })
    return agent
  }
}

/**
 * One POST: settles once, with the status (and the start of an error body), or with why it
 * failed. The whole request, queueing and connecting included, has one deadline, which
 * WebhookHttp enforces.
 */
class PostHandler implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | null = null
  #reason: Error | null = null
  /** performance.now() by which it must have settled. */
  deadline = 0
  #status = 0
  #snippet: Buffer[] | null = null
  #snippetBytes = 0
  #settle: ((result: DeliveryResult) => void) | null

  constructor(private readonly started: number, settle: (result: DeliveryResult) => void) {
    this.#settle = settle
  }

  abort(reason: Error): void {
    if (!this.#settle) return
    this.#reason ??= reason
    // not on a connection yet: settle now; onRequestStart aborts it if it ever gets one
    if (this.#controller) this.#controller.abort(reason)
    else this.#fail(reason)
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#reason) controller.abort(this.#reason)
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    if (statusCode >= 200) this.#status = statusCode
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#status === 200 || !this.#settle) return
    // an error body is read only as far as the snippet in the attempt log
    ;(this.#snippet ??= []).push(chunk)
    this.#snippetBytes += chunk.length
    if (this.#snippetBytes <= ERROR_SNIPPET_BYTES) return
    this.#respond()
    controller.abort(new Error('error body read far enough'))
  }

  onResponseEnd(): void {
    this.#respond()
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#fail(this.#reason ?? err)
  }

  #respond(): void {
    const status = this.#status
    if (status === 200) return this.#done({ httpStatus: 200, error: null, result: 'success', latencyMs: performance.now() - this.started })
    const snippet = this.#snippet ? Buffer.concat(this.#snippet).subarray(0, ERROR_SNIPPET_BYTES).toString('utf8').replace(/\s+/g, ' ').trim() : ''
    this.#done({ httpStatus: status, error: `HTTP ${status}${snippet ? `: ${snippet}` : ''}`, result: `${status}`, latencyMs: performance.now() - this.started })
  }

  #fail(err: unknown): void {
    this.#done({ httpStatus: null, ...describeError(err), latencyMs: performance.now() - this.started })
  }

  #done(result: DeliveryResult): void {
    const settle = this.#settle
    if (!settle) return
    this.#settle = null
    settle(result)
  }
}

/** The first `limit` bytes of a response body, and whether more followed (the rest is not read). */
export async function readHead(body: AsyncIterable<Buffer> & { destroy(): unknown }, limit: number): Promise<{ head: Buffer; more: boolean }> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of body) {
      chunks.push(chunk)
      size += chunk.length
      if (size > limit) break
    }
  } finally {
    body.destroy()
  }
  const all = Buffer.concat(chunks)
  return { head: all.subarray(0, limit), more: all.length > limit }
}

const TLS_CODES = /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ERR_OSSL|HOSTNAME_MISMATCH)/
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'])

/** What went wrong with a request, from the root of undici's error chain. */
export function describeError(err: unknown): { error: string; result: AttemptResult } {
  // undici wraps socket errors; the root cause says what happened
  const chain: unknown[] = []
  for (let e: unknown = err; e instanceof Error && chain.length < 5; e = e.cause) chain.push(e)
  const refused = chain.find((e) => e instanceof WebhookUrlRefused)
  if (refused instanceof Error) return { error: refused.message, result: 'refused' }
  if (chain[0] instanceof ShutdownAbort) return { error: 'aborted: dispatcher stopping', result: 'aborted' }
  if (chain[0] instanceof RequestTimeout) return { error: `timeout: ${chain[0].message}`, result: 'timeout' }
  const root = (chain[chain.length - 1] ?? err) as NodeJS.ErrnoException
  const codes = chain.map((e) => (e as NodeJS.ErrnoException).code).filter((c): c is string => typeof c === 'string')
  const code = codes[codes.length - 1] ?? ''
  const message = `${code ? code + ': ' : ''}${root instanceof Error ? root.message : String(root)}`.slice(0, 500)
  if (codes.some((c) => TIMEOUT_CODES.has(c))) return { error: message, result: 'timeout' }
  if (codes.some((c) => TLS_CODES.test(c))) return { error: message, result: 'tls' }
  return { error: message, result: 'network' }
}
