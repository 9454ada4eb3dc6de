import http from 'node:http'
import type { Duplex } from 'node:stream'
import type { Socket } from 'node:net'
import { OnPremCode, WaboxError } from '../errors/index.js'
import type { DialectErrors, ErrorDialects } from './dialects.js'
import { shown } from './errors.js'

interface ClientError extends Error {
  code?: string
  /** llhttp's own words, e.g. "Duplicate Content-Length". */
  reason?: string
  /** The bytes the parser failed on, a Buffer (the request line, when it is in the same packet). */
  rawPacket?: unknown
}

const REQUEST_LINE = 'Malformed request line: expected "<method> <path> HTTP/1.1" ending in CRLF'
const CONTENT_LENGTH = 'Invalid Content-Length header: send it once, as a decimal number'
const CHUNKED = 'Malformed chunked body (Transfer-Encoding: chunked)'

/** What Node's HTTP parser (llhttp) refused, in words a client can act on. */
const FRAMING: Record<string, string> = {
  HPE_INVALID_METHOD: 'Malformed request line: unknown HTTP method',
  HPE_INVALID_URL: 'Malformed request line: the URL holds a character a URL may not hold',
  HPE_INVALID_CONSTANT: REQUEST_LINE,
  HPE_INVALID_VERSION: REQUEST_LINE,
  HPE_INVALID_CONTENT_LENGTH: CONTENT_LENGTH,
  HPE_UNEXPECTED_CONTENT_LENGTH: CONTENT_LENGTH,
  HPE_INVALID_TRANSFER_ENCODING: 'Invalid Transfer-Encoding header: only "chunked", and never with Content-Length',
  HPE_INVALID_CHUNK_SIZE: CHUNKED,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: CHUNKED,
  HPE_INVALID_HEADER_TOKEN: 'Invalid header: a name must be a token and a value must not hold control characters',
  HPE_HEADER_OVERFLOW: `Request headers larger than the ${Math.floor(http.maxHeaderSize / 1024)} KB the server accepts`,
  HPE_PAUSED_H2_UPGRADE: 'HTTP/2 is not served here: use HTTP/1.1',
  ERR_HTTP_REQUEST_TIMEOUT: 'The request did not arrive completely in time',
}

const STATUS: Record<string, number> = { HPE_HEADER_OVERFLOW: 431, ERR_HTTP_REQUEST_TIMEOUT: 408 }

/** How long a refused connection may keep sending before it is cut. */
const LINGER_MS = 5_000

/** The On-Prem error for a request Node refused before Fastify saw it. */
export function clientErrorOf(err: ClientError): WaboxError {
  const code = err.code ?? ''
  const words = FRAMING[code] ?? 'Malformed HTTP request'
  const reason = typeof err.reason === 'string' && err.reason ? ` (${err.reason})` : ''
  return new WaboxError(OnPremCode.INVALID_REQUEST, `${words}${reason}`, { httpStatus: STATUS[code] ?? 400 })
}

/** The URL of the request line at the start of `packet`, if there is one to read. */
function urlOf(packet: unknown): string | undefined {
  if (!Buffer.isBuffer(packet)) return undefined
  const line = packet.subarray(0, 8192).toString('latin1').split('\r\n', 1)[0] ?? ''
  return /^[A-Za-z-]+ (\S+) HTTP\/\d/.exec(line)?.[1]
}

/**
 * Fastify's `clientErrorHandler`: answers malformed framing in the envelope of the URL's dialect
 * on the raw socket, then closes it. The connection closes gracefully (what the client still
 * sends is read and dropped) so a reset cannot destroy the answer before the client has read it.
 */
export function clientErrorHandler(dialects: ErrorDialects): (err: ClientError, socket: Socket) => void {
  const answered = new WeakSet<Socket>()
  return (err, socket) => {
    // a reset connection has nobody to answer; the parser reports its error again on more data
    if (err.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return
    answered.add(socket)
    // a response already on its way must not be corrupted by a second one
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
    if (!socket.writable || inFlight?.headersSent) {
      socket.destroy()
      return
    }
    answerRaw(socket, clientErrorOf(err), dialects.for(urlOf(err.rawPacket), socket))
  }
}

/** Writes the envelope of `error` as a whole HTTP response on a socket no response object owns, and closes it. */
function answerRaw(socket: Socket, error: WaboxError, dialect: DialectErrors): void {
  const rendered = dialect.render(error)
  const { status } = rendered
  const body = JSON.stringify(rendered.body)
  // no server or response object listens on this socket any more (Node took its handler off
  // for CONNECT): a peer's reset would be an unhandled 'error' and end the process
  socket.on('error', () => socket.destroy())
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: ${rendered.contentType ?? 'application/json; charset=utf-8'}\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  socket.resume()
  socket.once('end', () => socket.destroy())
  socket.setTimeout(LINGER_MS, () => socket.destroy())
}

/**
 * Node answers two requests itself, outside the envelope: an `Expect` other than 100-continue
 * (a bare 417) and CONNECT (the connection is dropped without an answer).
 */
export function answerNodeDefaults(server: http.Server, dialects: ErrorDialects): void {
  server.on('checkExpectation', (request: http.IncomingMessage, response: http.ServerResponse) => {
    const err = new WaboxError(OnPremCode.INVALID_REQUEST,
      `Invalid value for header 'Expect': '${shown(String(request.headers.expect), 60)}'; only 100-continue is supported`, { httpStatus: 417 })
    const rendered = dialects.for(request.url, request.socket).render(err)
    response.writeHead(rendered.status, { 'content-type': rendered.contentType ?? 'application/json; charset=utf-8', connection: 'close' })
    response.end(JSON.stringify(rendered.body))
  })
  // typed a Duplex, the socket of an HTTP or HTTPS server is a net.Socket
  server.on('connect', (_request: http.IncomingMessage, socket: Duplex) => {
    const err = new WaboxError(OnPremCode.INVALID_REQUEST, 'Method CONNECT is not allowed: this server is not a proxy', { httpStatus: 405 })
    // its target is a host, not a path of any dialect
    answerRaw(socket as Socket, err, dialects.for(undefined, socket))
  })
}
