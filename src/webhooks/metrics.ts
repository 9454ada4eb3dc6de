import prom from 'prom-client'
import type { Store } from '../store/store.js'
import type { AttemptResult } from './http-delivery.js'

/** Seconds from enqueue to the 200: sub-second when healthy, up to days when retried. */
const DELIVERY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86_400, 7 * 86_400]

/**
 * Prometheus metrics of the dispatcher, on an injected registry. Queue depth is read from the
 * database at scrape time, so it is right whichever process enqueued or delivered.
 */
export class WebhookMetrics {
  readonly attempts: prom.Counter<'result'>
  readonly delivery: prom.Histogram

  constructor(registry: prom.Registry, store: Store) {
    this.attempts = metric(registry, 'wabox_callback_attempts_total', () => new prom.Counter({
      name: 'wabox_callback_attempts_total',
      help: 'Callback delivery attempts (one per callback per POST) by result: success, HTTP status, timeout, refused, tls, network, error',
      labelNames: ['result'] as const,
      registers: [registry],
    }))
    this.delivery = metric(registry, 'wabox_callback_delivery_seconds', () => new prom.Histogram({
      name: 'wabox_callback_delivery_seconds',
      help: 'Time from enqueue to the HTTP 200 that retired a callback',
      buckets: DELIVERY_BUCKETS,
      registers: [registry],
    }))
    metric(registry, 'wabox_callback_queue_depth', () => new prom.Gauge({
      name: 'wabox_callback_queue_depth',
      help: 'Callbacks waiting for delivery (pending, including retries), per number',
      labelNames: ['phone_number_id'] as const,
      registers: [registry],
      async collect() {
        this.reset()
        for (const d of await store.callbacks.depthByNumber()) this.set({ phone_number_id: d.phoneNumberId }, d.pending)
      },
    }))
    metric(registry, 'wabox_callback_dead_letters', () => new prom.Gauge({
      name: 'wabox_callback_dead_letters',
      help: 'Dead-lettered callbacks (retry window exhausted) waiting for a replay, per number',
      labelNames: ['phone_number_id'] as const,
      registers: [registry],
      async collect() {
        this.reset()
        for (const d of await store.callbacks.depthByNumber()) if (d.dead > 0) this.set({ phone_number_id: d.phoneNumberId }, d.dead)
      },
    }))
  }

  attempt(result: AttemptResult, callbacks: number): void {
    this.attempts.inc({ result }, callbacks)
  }
}

/** Reuses a metric already on the registry (a second dispatcher in the same process). */
function metric<T extends prom.Metric>(registry: prom.Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create()
}
