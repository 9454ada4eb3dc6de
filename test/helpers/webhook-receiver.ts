import { EventEmitter, once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

/** A GET verification handshake as the receiver got it (Meta's `hub.*` query parameters). */
export interface Handshake {
  path: string
  mode: string | null
  verifyToken: string | null
  challenge: string | null
}

/** How a handshake is answered: a status and body, or `hang` (no answer at all). */
export type HandshakeAnswer = { status: number; body: string } | 'hang'

/** A correct endpoint: 200 with the challenge for a subscribe request, 400 otherwise. */
export function echoChallenge(h: Handshake): HandshakeAnswer {
  return h.mode === 'subscribe' && h.challenge !== null ? { status: 200, body: h.challenge } : { status: 400, body: 'not a subscribe request' }
}

/**
 * A local webhook endpoint that records every POST and lets tests wait for a matching one. It
 * answers GET verification handshakes too: with the challenge, unless `handshakeAnswers` holds
 * another answer for the path (unique paths keep tests from seeing each other's).
 */
export class WebhookReceiver extends EventEmitter {
  readonly bodies: unknown[] = []
  /** Every POST with the path it was made to, its bytes as received and its headers (signatures), in order. */
  readonly posts: { path: string; body: unknown; raw: Buffer; headers: http.IncomingHttpHeaders }[] = []
  readonly handshakes: Handshake[] = []
  readonly handshakeAnswers = new Map<string, (h: Handshake) => HandshakeAnswer>()
  /** How POSTs are answered; a failing endpoint answers e.g. `{ status: 500, body: 'down' }` and its bodies count as not received. */
  answer = { status: 200, body: '' }
  readonly #server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver')
    if (req.method === 'GET') {
      this.#handshake(url, res)
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const body = JSON.parse(raw.toString('utf8')) as unknown
      this.posts.push({ path: url.pathname, body, raw, headers: req.headers })
      const { status, body: answer } = this.answer
      res.writeHead(status).end(answer)
      if (status !== 200) return
      this.bodies.push(body)
      this.emit('body', body)
    })
  })

  async start(): Promise<string> {
    this.#server.listen(0, '127.0.0.1')
    await once(this.#server, 'listening')
    return this.url('/hook')
  }

  /** The receiver's URL with this path. */
  url(path: string): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}${path}`
  }

  /** Handshakes made to `path`, oldest first. */
  handshakesTo(path: string): Handshake[] {
    return this.handshakes.filter((h) => h.path === path)
  }

  #handshake(url: URL, res: http.ServerResponse): void {
    const q = url.searchParams
    const h: Handshake = { path: url.pathname, mode: q.get('hub.mode'), verifyToken: q.get('hub.verify_token'), challenge: q.get('hub.challenge') }
    this.handshakes.push(h)
    const answer = (this.handshakeAnswers.get(h.path) ?? echoChallenge)(h)
    if (answer !== 'hang') res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body)
  }

  /** Resolves with the first recorded body (past or future) for which `pick` returns a value. */
  waitFor<T>(pick: (body: unknown) => T | undefined, timeoutMs = 20_000): Promise<T> {
    for (const body of this.bodies) {
      const hit = pick(body)
      if (hit !== undefined) return Promise.resolve(hit)
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('body', onBody)
        reject(new Error(`no matching webhook within ${timeoutMs} ms; got ${JSON.stringify(this.bodies).slice(0, 2000)}`))
      }, timeoutMs)
      const onBody = (body: unknown) => {
        const hit = pick(body)
        if (hit === undefined) return
        clearTimeout(timer)
        this.off('body', onBody)
        resolve(hit)
      }
      this.on('body', onBody)
    })
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise((resolve) => this.#server.close(resolve))
  }
}

interface OnPremBody {
  statuses?: { id: string; status: string }[]
  messages?: { id: string; from: string; type: string; text?: { body: string } }[]
}

/** Picks an On-Prem status callback for a message id and status. */
export function onPremStatus(id: string, status: string) {
  return (body: unknown) => (body as OnPremBody).statuses?.find((s) => s.id === id && s.status === status)
}

/** Picks an On-Prem inbound text message callback by sender and body. */
export function onPremText(from: string, text: string) {
  return (body: unknown) => (body as OnPremBody).messages?.find((m) => m.from === from && m.text?.body === text)
}
