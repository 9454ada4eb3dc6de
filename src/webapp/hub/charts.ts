import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client'
import type { Clock } from '../../clock.js'
import type { HubQueries } from '../../store/hub-queries.js'
import { SEND_LATENCY } from '../metrics.js'
import type { HubEventBus } from './event-bus.js'
import type { ChartPoint } from './ports.js'

export const SAMPLE_MS = 5000
const KEEP = (15 * 60 * 1000) / SAMPLE_MS

interface Totals {
  at: number
  accepted: number
  delivered: number
  attempts: number
  succeeded: number
}

type Values = MetricValue<string>[]

async function values(registry: Registry, name: string): Promise<Values> {
  const metric = registry.getSingleMetric(name)
  return metric ? ((await metric.get()) as MetricObjectWithValues<MetricValue<string>>).values : []
}

const sum = (vs: Values, keep: (v: MetricValue<string>) => boolean = () => true) => vs.filter(keep).reduce((a, v) => a + v.value, 0)

/**
 * The Hub's live charts: every 5 s, while a Hub page is open, the numbers `/metrics` shows
 * (accepted sends, accept latency, callback backlog, webhook attempts) and the delivered
 * receipts in the database, kept for 15 minutes and pushed to the open pages.
 */
export class ChartSampler {
  readonly #points: ChartPoint[] = []
  #last: Totals | undefined
  #timer: NodeJS.Timeout | undefined
  #sampling = false

  constructor(
    private readonly registry: Registry,
    private readonly queries: HubQueries,
    private readonly clock: Clock,
    private readonly events: HubEventBus,
  ) {}

  get points(): readonly ChartPoint[] {
    return this.#points
  }

  /** Samples while at least one page listens. */
  watch(): void {
    this.#timer ??= setInterval(() => void this.sample(), SAMPLE_MS).unref()
  }

  unwatch(): void {
    if (this.events.listeners > 0 || !this.#timer) return
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#last = undefined
  }

  async sample(): Promise<void> {
    if (this.#sampling) return
    this.#sampling = true
    try {
      const at = this.clock.now()
      const requests = await values(this.registry, 'api_requests')
      const attempts = await values(this.registry, 'wabox_callback_attempts_total')
      const latency = await values(this.registry, SEND_LATENCY)
      const totals: Totals = {
        at,
        accepted: sum(requests, (v) => /^POST_.*_messages$/.test(String(v.labels.method)) && Number(v.labels.result) < 300),
        delivered: await this.queries.deliveredTotal(),
        attempts: sum(attempts),
        succeeded: sum(attempts, (v) => v.labels.result === 'success'),
      }
      const quantile = (q: number) => latency.find((v) => v.labels.quantile === q)?.value
      const previous = this.#last
      this.#last = totals
      if (previous) {
        // the time that really passed: a sample may come late on a busy machine
        const seconds = Math.max(1, at - previous.at) / 1000
        const tried = totals.attempts - previous.attempts
        const p50 = quantile(0.5)
        const p99 = quantile(0.99)
        this.#points.push({
          at,
          acceptedPerS: Math.max(0, totals.accepted - previous.accepted) / seconds,
          deliveredPerS: Math.max(0, totals.delivered - previous.delivered) / seconds,
          acceptP50Ms: p50 === undefined || Number.isNaN(p50) ? null : p50,
          acceptP99Ms: p99 === undefined || Number.isNaN(p99) ? null : p99,
          backlog: sum(await values(this.registry, 'wabox_callback_queue_depth')),
          webhookSuccess: tried > 0 ? (totals.succeeded - previous.succeeded) / tried : null,
        })
        if (this.#points.length > KEEP) this.#points.splice(0, this.#points.length - KEEP)
        this.events.publish('metrics')
      }
    } catch {
      // a sample the database could not answer is skipped (it runs from a timer, where a
      // rejection would end the process); the next one measures from the last good one
    } finally {
      this.#sampling = false
    }
  }
}
