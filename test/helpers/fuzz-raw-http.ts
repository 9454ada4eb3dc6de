import net from 'node:net'

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Writes each request as-is on a fresh TCP connection and collects everything the server sends
 * until it closes the connection (requests carry `Connection: close`, or the server drops a
 * malformed one). Bytes no client library would send, so framing errors can be tested.
 */
export function rawExchange(port: number, ...requests: (string | Buffer)[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let sent = 0
    const socket = net.connect(port, '127.0.0.1', () => socket.write(requests[sent++]!))
    socket.on('data', (d) => {
      chunks.push(d)
      // the next request goes once every earlier one is answered in full (no pipelining)
      if (sent < requests.length && completeResponses(Buffer.concat(chunks)) === sent) socket.write(requests[sent++]!)
    })
    // the server may reset a connection it refused after answering: what arrived still counts
    socket.on('error', (err) => (chunks.length ? undefined : reject(err)))
    socket.on('close', () => resolve(Buffer.concat(chunks)))
  })
}

/** How many whole responses (with Content-Length) `raw` holds. */
function completeResponses(raw: Buffer): number {
  let count = 0
  let rest = raw
  for (;;) {
    const end = rest.indexOf('\r\n\r\n')
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(rest.subarray(0, end).toString('latin1'))?.[1] ?? NaN)
    if (end < 0 || !(rest.length >= end + 4 + length)) return count
    count++
    rest = rest.subarray(end + 4 + length)
  }
}

/** Splits what a server sent into its final responses (Content-Length or chunked bodies). */
export function parseResponses(raw: Buffer): RawResponse[] {
  const out: RawResponse[] = []
  let rest = raw
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n')
    if (end < 0) throw new Error(`incomplete response head: ${JSON.stringify(rest.toString('latin1').slice(0, 200))}`)
    const [statusLine = '', ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n')
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1])
    if (!status) throw new Error(`not an HTTP response: ${JSON.stringify(statusLine)}`)
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    rest = rest.subarray(end + 4)
    // an interim answer (100 Continue) has no body: the final answer follows
    if (status < 200) continue
    let body: Buffer
    if (headers['transfer-encoding'] === 'chunked') {
      ;[body, rest] = dechunk(rest)
    } else {
      const length = Number(headers['content-length'] ?? rest.length)
      body = rest.subarray(0, length)
      rest = rest.subarray(length)
    }
    out.push({ status, headers, body: body.toString('utf8') })
  }
  return out
}

function dechunk(data: Buffer): [Buffer, Buffer] {
  const parts: Buffer[] = []
  let rest = data
  for (;;) {
    const eol = rest.indexOf('\r\n')
    const size = parseInt(rest.subarray(0, eol).toString('latin1'), 16)
    rest = rest.subarray(eol + 2)
    if (!size) return [Buffer.concat(parts), rest.subarray(2)]
    parts.push(rest.subarray(0, size))
    rest = rest.subarray(size + 2)
  }
}

/** One request, one response. */
export async function rawRequest(port: number, request: string | Buffer): Promise<RawResponse> {
  const [first] = parseResponses(await rawExchange(port, request))
  if (!first) throw new Error('the server closed the connection without answering')
  return first
}
