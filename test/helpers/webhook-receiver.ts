import { EventEmitter, once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

/** A local webhook endpoint that records every POST and lets tests wait for a matching one. */
export class WebhookReceiver extends EventEmitter {
  readonly bodies: unknown[] = []
  readonly #server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
      this.bodies.push(body)
      res.writeHead(200).end()
      this.emit('body', body)
    })
  })

  async start(): Promise<string> {
    this.#server.listen(0, '127.0.0.1')
    await once(this.#server, 'listening')
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`
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
