import fc from 'fast-check'

/**
 * Hostile HTTP/1.1 framing, written byte for byte: odd methods, targets and versions, broken or
 * duplicated headers, wrong Content-Length and chunked bodies. Every request is complete (or
 * broken early enough for the parser to notice at once), so the server always has to answer.
 */

export interface FramingRequest {
  method: string
  target: string
  version: string
  host: 'one' | 'none' | 'two' | 'empty'
  auth: 'key' | 'two keys' | 'key and bearer' | 'garbage' | 'none'
  contentType?: string
  headers: [string, string][]
  body: string
  framing: 'length' | 'chunked' | 'none' | 'bad length' | 'two lengths' | 'length and chunked' | 'bad chunk' | 'short length'
}

/** Paths whose error answers are all the envelope (no bare 404 of media or CA downloads). */
const TARGETS = [
  '/v1/health', '/v1/messages', '/v1/settings/application', '/v1/users/login', '/v1/contacts', '/v1/media', '/v1/messages/wamid.x',
  '/v1/nope', '*', 'http://x/v1/health', '/v1/%zz', '/v1/health?name=%', '//v1//health', '/v1/health/', '/v1/health#frag',
  '/v1/\u00ff', '/v1/health?a=%00&a=1', 'example.com:443',
]

const HEADER_NAMES = ['X-A', 'Bad Name', 'X(paren)', 'X\u0000', '\u00dc', 'Expect', 'Upgrade', 'Accept-Version', 'X-Forwarded-For', 'X-Forwarded-Host', 'Content-Encoding', 'Cookie']
const HEADER_VALUES = ['', ' leading', 'a\u0001b', 'a\u007fb', 'a\u00ffb', 'x'.repeat(9_000), '100-continue', 'teapot', 'websocket', 'gzip', '1, 2', '\u00e9t\u00e9', 'a;b=c']

export const framingRequest: fc.Arbitrary<FramingRequest> = fc.record({
  method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'FOO', 'get', 'M-SEARCH', 'PROPFIND'),
  target: fc.constantFrom(...TARGETS),
  version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/9', 'http/1.1'),
  host: fc.constantFrom('one' as const, 'one' as const, 'none' as const, 'two' as const, 'empty' as const),
  auth: fc.constantFrom('key' as const, 'key' as const, 'two keys' as const, 'key and bearer' as const, 'garbage' as const, 'none' as const),
  contentType: fc.constantFrom('application/json', 'application/json', 'text/plain', 'image/png', ';', 'application/json; charset=utf-16', undefined),
  headers: fc.array(fc.tuple(fc.constantFrom(...HEADER_NAMES), fc.constantFrom(...HEADER_VALUES)), { maxLength: 3 }),
  body: fc.constantFrom('', '{}', '{"to":"1555","type":"text","text":{"body":"hi"}}', '{x', '\u0000\u00ff', 'a'.repeat(5_000)),
  framing: fc.constantFrom('length', 'length', 'length', 'chunked', 'none', 'bad length', 'two lengths', 'length and chunked', 'bad chunk', 'short length'),
}, { requiredKeys: ['method', 'target', 'version', 'host', 'auth', 'headers', 'body', 'framing'] })

function framingHeaders(req: FramingRequest): string[] {
  const n = Buffer.byteLength(req.body, 'latin1')
  switch (req.framing) {
    case 'length': return [`Content-Length: ${n}`]
    case 'chunked': return ['Transfer-Encoding: chunked']
    case 'none': return []
    case 'bad length': return ['Content-Length: 1x']
    case 'two lengths': return [`Content-Length: ${n}`, `Content-Length: ${n + 1}`]
    case 'length and chunked': return [`Content-Length: ${n}`, 'Transfer-Encoding: chunked']
    case 'bad chunk': return ['Transfer-Encoding: chunked']
    // what follows the declared length is the next request: garbage to the parser
    case 'short length': return [`Content-Length: ${Math.max(0, n - 1)}`]
  }
}

function framedBody(req: FramingRequest): string {
  if (req.framing === 'chunked') return `${req.body ? `${Buffer.byteLength(req.body, 'latin1').toString(16)}\r\n${req.body}\r\n` : ''}0\r\n\r\n`
  if (req.framing === 'bad chunk') return `zz\r\n${req.body}\r\n`
  // without framing a request has no body: what would follow is a next request, left out
  return req.framing === 'none' ? '' : req.body
}

/** The request's bytes (latin1: one byte per character), always with `Connection: close` last. */
export function frame(req: FramingRequest, key: string): Buffer {
  const lines = [`${req.method} ${req.target} ${req.version}`]
  if (req.host !== 'none') lines.push(`Host: ${req.host === 'empty' ? '' : '127.0.0.1'}`)
  if (req.host === 'two') lines.push('Host: other.example')
  if (req.auth === 'key' || req.auth === 'two keys' || req.auth === 'key and bearer') lines.push(`D360-API-KEY: ${key}`)
  if (req.auth === 'two keys') lines.push('D360-API-KEY: another-key')
  if (req.auth === 'key and bearer') lines.push('Authorization: Bearer not-a-token')
  if (req.auth === 'garbage') lines.push('Authorization: \u00ff\u00fe')
  if (req.contentType !== undefined) lines.push(`Content-Type: ${req.contentType}`)
  for (const [name, value] of req.headers) lines.push(`${name}: ${value}`)
  lines.push(...framingHeaders(req), 'Connection: close')
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${framedBody(req)}`, 'latin1')
}
