import { Counter, Gauge, Summary, type Registry } from 'prom-client'
import type { Clock } from '../clock.js'
import type { StatMetric } from './context.js'

/** One metric in the On-Prem JSON shape (onprem-api.md §7.2–7.3). */
export type MetricJson = StatMetric

function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  return (registry.getSingleMetric(name) as Counter<string> | undefined)
    ?? new Counter({ name, help, labelNames, registers: [registry] })
}

/** Accept latency of sends (p50, p99), which the Hub's charts show. */
export const SEND_LATENCY = 'api_send_latency_ms'

/** Webapp metrics on the injected registry (several apps may share one registry). */
export class WebMetrics {
  readonly #requests: Counter<string>
  readonly #durations: Counter<string>
  readonly #sendLatency: Summary<string>
  readonly #sendLatencyOfNode: Summary.Internal<string>
  /** Label children by method and status: prom-client hashes a label object on every call otherwise. */
  readonly #children = new Map<string, { requests: Counter.Internal; durations: Counter.Internal }>()
  #inFlight = 0

  constructor(registry: Registry, readonly node: string, clock: Clock) {
    const startedAt = clock.now()
    const nodeName = this.node
    const inFlight = () => this.#inFlight
    if (!registry.getSingleMetric('web_uptime')) {
      new Gauge({
        name: 'web_uptime', help: 'Number of seconds since web server has started', labelNames: ['node'], registers: [registry],
        collect() {
          this.set({ node: nodeName }, Math.floor((clock.now() - startedAt) / 1000))
        },
      })
    }
    if (!registry.getSingleMetric('web_requests')) {
      new Gauge({
        name: 'web_requests', help: 'Number of ongoing requests', labelNames: ['node', 'state'], registers: [registry],
        collect() {
          this.set({ node: nodeName, state: 'active' }, inFlight())
        },
      })
    }
    this.#requests = counter(registry, 'api_requests', 'Number of API requests by endpoint and HTTP status', ['node', 'method', 'result'])
    this.#durations = counter(registry, 'api_requests_duration_ms_sum', 'Total time spent answering API requests, ms', ['node', 'method', 'result'])
    this.#sendLatency = (registry.getSingleMetric(SEND_LATENCY) as Summary<string> | undefined) ?? new Summary({
      name: SEND_LATENCY, help: 'Time to accept a message (every dialect\'s send), ms, over the last 30–60 s', labelNames: ['node'],
      // every observation goes into each age bucket's t-digest: with 6 buckets they were a tenth
      // of the API thread's allocations; 2 still keep the last 30–60 s
      percentiles: [0.5, 0.99], maxAgeSeconds: 60, ageBuckets: 2, registers: [registry],
    })
    this.#sendLatencyOfNode = this.#sendLatency.labels({ node: this.node })
  }

  started(): void {
    this.#inFlight++
  }

  /** `method` is the On-Prem label, e.g. `POST_v1_messages`. */
  finished(method: string, status: number, ms: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1)
    const key = `${method} ${status}`
    let child = this.#children.get(key)
    if (!child) {
      const labels = { node: this.node, method, result: String(status) }
      child = { requests: this.#requests.labels(labels), durations: this.#durations.labels(labels) }
      this.#children.set(key, child)
    }
    child.requests.inc()
    child.durations.inc(Math.round(ms))
    if (status < 300 && method.startsWith('POST_') && method.endsWith('_messages')) this.#sendLatencyOfNode.observe(ms)
  }
}

const labelsOfRoutes = new Map<string, string>()

/** `POST /v1/media/:id` → `POST_v1_media_id`. */
export function methodLabel(method: string, routeUrl: string | undefined): string {
  const route = `${method} ${routeUrl ?? 'unknown'}`
  let label = labelsOfRoutes.get(route)
  if (label === undefined) {
    label = `${method}_${(routeUrl ?? 'unknown').replace(/[:*]/g, '').split('/').filter(Boolean).join('_')}`
    // routes are a fixed set; an unknown method string of a 404 is not worth keeping
    if (routeUrl !== undefined && routeUrl !== 'unknown') labelsOfRoutes.set(route, label)
  }
  return label
}

/** Every metric of the registry in the On-Prem JSON shape. */
export async function registryJson(registry: Registry): Promise<Record<string, MetricJson>> {
  const out: Record<string, MetricJson> = {}
  for (const m of await registry.getMetricsAsJSON()) {
    out[m.name] = {
      type: String(m.type),
      help: m.help,
      data: m.values.map((v) => {
        const labels = Object.fromEntries(Object.entries(v.labels).map(([k, x]) => [k, String(x)]))
        const name = (v as { metricName?: string }).metricName
        if (name && name !== m.name) labels.metric = name
        return Object.keys(labels).length ? { labels, value: v.value } : { value: v.value }
      }),
    }
  }
  return out
}

/** The label that names a number in wabox's metrics (the dispatcher's queue depth, dead letters). */
const NUMBER_LABEL = 'phone_number_id'

/**
 * Only what one number may see: series of that number and series about no number (process
 * uptime, request counts). Series of every other number are dropped, so a tenant's key never
 * learns which other numbers the deployment hosts.
 */
export function onlyNumber(metrics: Record<string, MetricJson>, phoneNumberId: string | null): Record<string, MetricJson> {
  const out: Record<string, MetricJson> = {}
  for (const [name, m] of Object.entries(metrics)) {
    out[name] = { ...m, data: m.data.filter((d) => d.labels?.[NUMBER_LABEL] === undefined || d.labels[NUMBER_LABEL] === phoneNumberId) }
  }
  return out
}

const NUMBER_IN_SAMPLE = new RegExp(`[{,]${NUMBER_LABEL}="((?:[^"\\\\]|\\\\.)*)"`)

/** `onlyNumber` on Prometheus text: drops the sample lines labelled with another number. */
export function onlyNumberText(text: string, phoneNumberId: string | null): string {
  const own = phoneNumberId === null ? null : escapeLabel(phoneNumberId)
  return text.split('\n').filter((line) => {
    if (line.startsWith('#')) return true
    const labelled = NUMBER_IN_SAMPLE.exec(line)
    return !labelled || labelled[1] === own
  }).join('\n')
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

/** Renders On-Prem shaped metrics as Prometheus text (for `?format=prometheus` on stats). */
export function toPrometheus(metrics: Record<string, MetricJson>): string {
  const lines: string[] = []
  for (const [name, m] of Object.entries(metrics)) {
    lines.push(`# HELP ${name} ${m.help.replace(/\n/g, ' ')}`, `# TYPE ${name} ${m.type}`)
    for (const d of m.data) {
      const labels = Object.entries(d.labels ?? {}).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')
      lines.push(`${name}${labels ? `{${labels}}` : ''} ${d.value}`)
    }
  }
  return lines.join('\n') + '\n'
}
