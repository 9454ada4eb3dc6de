/** The load generator: `POST` of messages over a keep-alive undici Pool, at a fixed rate or as fast as it goes. */
import { Pool } from 'undici'

export interface Request {
  to: string
  body: string
}

export interface LoadOptions {
  /** Origin, e.g. `http://127.0.0.1:9090`. */
  origin: string
  /** The send path: `/v1/messages` (On-Prem, the default) or `/{version}/{phone_number_id}/messages` (Cloud). */
  path?: string
  headers: Record<string, string>
  /** Messages per second; undefined = closed loop, as fast as `concurrency` clients get answers. */
  rate: number | undefined
  /** Connections of the pool = most requests in flight. */
  concurrency: number
  durationS: number
  next: (i: number) => Request
  onAccepted: (id: string, to: string, acceptedAt: number, latencyMs: number) => void
}

export interface LoadResult {
  sent: number
  accepted: number
  rejected: Map<string, number>
  /** Rate mode: requests still due when the window ended because every connection was busy. */
  behind: number
  elapsedS: number
}

export class LoadGenerator {
  readonly pool: Pool
  inFlight = 0
  accepted = 0

  constructor(private readonly opts: LoadOptions) {
    this.pool = new Pool(opts.origin, { connections: opts.concurrency, pipelining: 1, keepAliveTimeout: 60_000 })
  }

  /** One request; resolves with the message id, or throws with the status and body. */
  async post(req: Request): Promise<string> {
    const res = await this.pool.request({ method: 'POST', path: this.opts.path ?? '/v1/messages', headers: { ...this.opts.headers, 'content-type': 'application/json' }, body: req.body })
    const text = await res.body.text()
    if (res.statusCode !== 201 && res.statusCode !== 200) throw Object.assign(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`), { status: res.statusCode })
    const id = (JSON.parse(text) as { messages?: { id: string }[] }).messages?.[0]?.id
    if (!id) throw new Error(`no message id in ${text.slice(0, 300)}`)
    return id
  }

  async run(): Promise<LoadResult> {
    const { rate, concurrency, durationS, next, onAccepted } = this.opts
    const rejected = new Map<string, number>()
    let sent = 0
    const t0 = performance.now()
    const deadline = t0 + durationS * 1000
    const one = async () => {
      const i = sent++
      const req = next(i)
      this.inFlight++
      const start = performance.now()
      try {
        const id = await this.post(req)
        const end = performance.now()
        this.accepted++
        onAccepted(id, req.to, end, end - start)
      } catch (err) {
        const key = String((err as { status?: number }).status ?? (err as Error).message.slice(0, 80))
        rejected.set(key, (rejected.get(key) ?? 0) + 1)
      } finally {
        this.inFlight--
      }
    }

    let behind = 0
    if (rate === undefined) {
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline) await one()
      }))
    } else {
      const running = new Set<Promise<void>>()
      await new Promise<void>((resolve) => {
        const tick = () => {
          const now = performance.now()
          const due = Math.floor(((Math.min(now, deadline) - t0) / 1000) * rate)
          while (sent < due && this.inFlight < concurrency) {
            const p = one().finally(() => running.delete(p))
            running.add(p)
          }
          if (now >= deadline) {
            behind = due - sent
            return resolve()
          }
          setTimeout(tick, 2)
        }
        tick()
      })
      await Promise.all(running)
    }
    return { sent, accepted: this.accepted, rejected, behind, elapsedS: (performance.now() - t0) / 1000 }
  }

  close(): Promise<void> {
    return this.pool.close()
  }
}
