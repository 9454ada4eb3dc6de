import { createHash } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import tls from 'node:tls'
import { Agent, request, type Dispatcher } from 'undici'
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
  /** Aborts the request (shutdown). */
  signal: AbortSignal
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

class ShutdownAbort extends Error {}
class RequestTimeout extends Error {}

/**
 * POSTs callback bodies. Each number gets its own connection pool (its CA, its concurrency,
 * a DNS lookup that refuses forbidden addresses), so one number's endpoint cannot use up
 * another's sockets.
 */
export class WebhookHttp {
  readonly #agents = new Map<string, { key: string; agent: Agent }>()

  constructor(private readonly opts: WebhookHttpOptions) {}

  async post(req: DeliveryRequest): Promise<DeliveryResult> {
    const started = performance.now()
    const controller = new AbortController()
    const onShutdown = () => controller.abort(new ShutdownAbort('dispatcher stopping'))
    if (req.signal.aborted) onShutdown()
    else req.signal.addEventListener('abort', onShutdown, { once: true })
    const timer = setTimeout(() => controller.abort(new RequestTimeout(`no answer within ${this.opts.requestTimeoutMs} ms`)), this.opts.requestTimeoutMs)
    try {
      const dispatcher = this.opts.dispatcher ?? this.#agent(req)
      if (this.opts.dispatcher) {
        // no pinned lookup behind an injected dispatcher: check before connecting instead
        await checkHost(req.target.url.hostname, req.target.insecure, this.opts.policy, this.opts.resolve ?? systemResolver)
      }
      const res = await request(req.target.url, {
        method: 'POST',
        dispatcher,
        headers: this.#headers(req),
        body: req.body,
        signal: controller.signal,
      })
      if (res.statusCode === 200) {
        await res.body.dump()
        return { httpStatus: 200, error: null, result: 'success', latencyMs: performance.now() - started }
      }
      const snippet = await readSnippet(res.body)
      return {
        httpStatus: res.statusCode,
        error: `HTTP ${res.statusCode}${snippet ? `: ${snippet}` : ''}`,
        result: `${res.statusCode}`,
        latencyMs: performance.now() - started,
      }
    } catch (err) {
      const reason = controller.signal.aborted ? controller.signal.reason as unknown : err
      return { httpStatus: null, ...describeError(reason), latencyMs: performance.now() - started }
    } finally {
      clearTimeout(timer)
      req.signal.removeEventListener('abort', onShutdown)
    }
  }

  async close(): Promise<void> {
    const agents = [...this.#agents.values()].map((a) => a.agent)
    this.#agents.clear()
    await Promise.all(agents.map((a) => a.destroy().catch(() => undefined)))
  }

  #headers(req: DeliveryRequest): Record<string, string> {
    const headers: Record<string, string> = {}
    if (req.target.authorization) headers.authorization = req.target.authorization
    for (const [name, value] of Object.entries(req.headers)) {
      if (!RESERVED.has(name.toLowerCase())) headers[name.toLowerCase()] = value
    }
    headers['content-type'] = 'application/json'
    headers['user-agent'] ??= this.opts.userAgent
    headers['x-hub-signature-256'] = req.signature
    return headers
  }

  /** The number's pool; rebuilt when its CA, scheme or concurrency changes. */
  #agent(req: DeliveryRequest): Agent {
    const key = `${req.maxConcurrent}|${req.target.insecure}|${req.ca ? createHash('sha256').update(req.ca).digest('hex') : '-'}`
    const current = this.#agents.get(req.phoneNumberId)
    if (current?.key === key) return current.agent
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
    this.#agents.set(req.phoneNumberId, { key, agent })
    return agent
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

async function readSnippet(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  try {
    const { head } = await readHead(body, ERROR_SNIPPET_BYTES)
    return head.toString('utf8').replace(/\s+/g, ' ').trim()
  } catch {
    // the status is what matters; a broken error body is not worth reporting
    return ''
  }
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
