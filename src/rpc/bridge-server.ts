import { timingSafeEqual, createHash } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { CoreBridge } from '../domain/bridge.js'
import { IDLE_SOCKET_TIMEOUT_MS, nodeServerTimeouts, type HttpTimeouts } from '../http-timeouts.js'
import { isBridgeMethod, RPC_PATH } from './bridge-methods.js'
import { remoteError } from './remote-error.js'

export interface BridgeServerOptions {
  bridge: CoreBridge
  /** Bearer token every caller must show (shared by the nodes of a deployment). */
  secret: string
  host: string
  /** 0 picks a free port. */
  port: number
  /** Served at `GET /metrics` without the secret (Prometheus scrapes it on the private interface). */
  metrics?: () => Promise<{ contentType: string; body: string }>
  /** How long a caller may take to send a request and stay idle; default 30 s and 60 s. */
  timeouts?: Partial<HttpTimeouts>
}

export interface BridgeServer {
  /** `http://host:port` */
  url: string
  close(): Promise<void>
}

/** Largest request body: a contacts check of a few thousand numbers. */
const MAX_BODY = 1024 * 1024

/** 1 MB over the private network arrives in well under a second; a caller this slow is frozen. */
const RPC_REQUEST_TIMEOUT_MS = 30_000

/**
 * A CoreApp's internal RPC: `POST /internal/bridge` with `{method, args}` answers
 * `{value}` or `{error}` (a WaboxError keeps its code). Only nodes that know the shared
 * secret get in; it listens on the private interface given. `GET /metrics` serves the node's
 * Prometheus metrics when given.
 */
export async function startBridgeServer(opts: BridgeServerOptions): Promise<BridgeServer> {
  const expected = digest(`Bearer ${opts.secret}`)
  // a frozen caller is answered 408 and its socket closed, instead of holding it forever
  const timeouts = { requestMs: RPC_REQUEST_TIMEOUT_MS, idleMs: IDLE_SOCKET_TIMEOUT_MS, ...opts.timeouts }
  const server = http.createServer(nodeServerTimeouts(timeouts), (req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics' && opts.metrics) {
      opts.metrics().then(
        ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
        () => answer(500, { error: { message: 'metrics unavailable' } }),
      )
      return
    }
    if (req.method !== 'POST' || req.url !== RPC_PATH) return answer(404, { error: { message: 'not found' } })
    if (!timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) return answer(401, { error: { message: 'unauthorized' } })
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY) req.destroy()
      else chunks.push(chunk)
    })
    req.on('end', () => {
      let call: { method?: unknown; args?: unknown }
      try {
        call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof call
      } catch {
        return answer(400, { error: { message: 'the body is not JSON' } })
      }
      const { method, args } = call
      const fn = isBridgeMethod(method) ? (opts.bridge[method] as ((...a: unknown[]) => Promise<unknown>) | undefined) : undefined
      if (typeof fn !== 'function' || !Array.isArray(args)) return answer(400, { error: { message: 'unknown method or arguments' } })
      fn.apply(opts.bridge, args).then(
        (value) => answer(200, value === undefined ? {} : { value }),
        (err: unknown) => answer(200, { error: remoteError(err) }),
      )
    })
  })
  // keep-alive callers reuse their sockets; idle ones are closed well after the client gives up on them
  server.keepAliveTimeout = 65_000
  server.setTimeout(timeouts.idleMs)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: opts.host, port: opts.port }, resolve)
  })
  const { port } = server.address() as AddressInfo
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host
  return {
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeIdleConnections()
    }),
  }
}

/** Fixed-length digests, so the comparison takes the same time whatever the caller sent. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}
