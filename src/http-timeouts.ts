/** How long an HTTP server waits on its clients (see httpServerTimeouts). */
export interface HttpTimeouts {
  /** Longest time to receive a whole request, headers and body; answered 408 past it. */
  requestMs: number
  /** A socket with no traffic either way for this long is closed. */
  idleMs: number
}

/**
 * Receiving the largest upload (100 MB of media or blob) at 1.5 Mbit/s takes about 9 minutes:
 * a slow but honest client finishes within this; one that stalls or trickles its body is cut.
 * Fastify's default is no limit at all, so a frozen client would hold its socket forever.
 */
export const UPLOAD_REQUEST_TIMEOUT_MS = 10 * 60_000

/** Longer than any answer a server waits on (the network's 20 s) and than the Hub's 25 s keep-alive. */
export const IDLE_SOCKET_TIMEOUT_MS = 60_000

/** Node checks for requests past their time every 30 s by default; a shorter limit is checked as often as it lasts. */
const MAX_CHECK_INTERVAL_MS = 30_000
/** Node's default for the headers alone; it must not exceed the request timeout, or Node never expires the request. */
const MAX_HEADERS_TIMEOUT_MS = 60_000

export const DEFAULT_HTTP_TIMEOUTS: Readonly<HttpTimeouts> = Object.freeze({ requestMs: UPLOAD_REQUEST_TIMEOUT_MS, idleMs: IDLE_SOCKET_TIMEOUT_MS })

/** Options of `http.createServer` for these timeouts; short ones (tests) are checked as often as they last. */
export function nodeServerTimeouts(timeouts: HttpTimeouts): { requestTimeout: number; headersTimeout: number; connectionsCheckingInterval: number } {
  return {
    requestTimeout: timeouts.requestMs,
    headersTimeout: Math.min(MAX_HEADERS_TIMEOUT_MS, timeouts.requestMs),
    connectionsCheckingInterval: Math.min(MAX_CHECK_INTERVAL_MS, timeouts.requestMs),
  }
}

/**
 * Fastify's options for these timeouts; `http` goes into its `http` or `https` server options.
 * Fastify sets the request timeout itself, to none unless given: both carry it.
 */
export function fastifyTimeouts(timeouts: HttpTimeouts): { requestTimeout: number; connectionTimeout: number; http: ReturnType<typeof nodeServerTimeouts> } {
  return { requestTimeout: timeouts.requestMs, connectionTimeout: timeouts.idleMs, http: nodeServerTimeouts(timeouts) }
}
