/** Turns what the bench recorded into the result object (`--json`) and the printed summary. */
import type { Usage } from './ipc.js'
import type { LoadResult } from './load.js'
import type { BenchOptions } from './options.js'
import type { WebhookReceiver } from './receiver.js'

const PROCESSES = ['wabox', 'network', 'phones', 'bench'] as const
type Process = (typeof PROCESSES)[number]

export interface CollectInput {
  opts: BenchOptions
  result: LoadResult
  accepted: Map<string, { to: string; at: number; latencyMs: number }>
  atPhone: Map<string, number>
  receiver: WebhookReceiver
  inboundSent: Set<string>
  inboundBefore: number
  t0: number
  tEnd: number
  windowS: number
  drainS: number
  before: Record<Process, Usage>
  after: Record<Process, Usage>
  floor: { mps: number; p50: number; p99: number; usage: Usage } | undefined
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

const round = (n: number, digits = 1) => Number(n.toFixed(digits))

export function collectResults(i: CollectInput) {
  const { opts, accepted, atPhone, receiver, windowS } = i
  const acceptMs = [...accepted.values()].map((a) => a.latencyMs).sort((a, b) => a - b)
  const delivered = receiver.statuses.get('delivered') ?? new Map<string, number[]>()
  const e2eMs: number[] = []
  let deliveredInWindow = 0
  let lostAtPhone = 0
  let lostCallback = 0
  let lost = 0
  let dupAtPhone = 0
  let dupCallback = 0
  for (const [id, a] of accepted) {
    const times = delivered.get(id)
    const phone = atPhone.get(id) ?? 0
    if (times) {
      e2eMs.push(Math.max(0, times[0]! - a.at))
      if (times[0]! <= i.tEnd) deliveredInWindow++
      if (times.length > 1) dupCallback++
    } else lostCallback++
    if (phone === 0) lostAtPhone++
    if (phone > 1) dupAtPhone++
    if (!times || phone === 0) lost++
  }
  e2eMs.sort((a, b) => a - b)

  // callbacks per status about messages of the window, counted as they arrived within it
  const callbacks: Record<string, { total: number; per_s: number }> = {}
  for (const [status, byId] of receiver.statuses) {
    let total = 0
    let inWindow = 0
    for (const [id, times] of byId) {
      if (!accepted.has(id)) continue
      total += times.length
      inWindow += times.filter((t) => t >= i.t0 && t <= i.tEnd).length
    }
    callbacks[status] = { total, per_s: round(inWindow / windowS) }
  }
  let inboundLost = 0
  let inboundDup = 0
  for (const id of i.inboundSent) {
    const n = receiver.inbound.get(id) ?? 0
    if (n === 0) inboundLost++
    if (n > 1) inboundDup++
  }

  const processes: Record<string, { cpu_cores: number; peak_rss_mb: number }> = {}
  let cores = 0
  for (const name of PROCESSES) {
    const c = (i.after[name].cpuUs - i.before[name].cpuUs) / 1e6 / windowS
    cores += c
    processes[name] = { cpu_cores: round(c, 2), peak_rss_mb: i.after[name].maxRssMb }
  }
  const acceptedMps = accepted.size / windowS
  return {
    db: opts.db,
    duration_s: opts.durationS,
    rate: opts.rate ?? 'max',
    phones: opts.phones,
    new_users: opts.newUsers,
    concurrency: opts.concurrency,
    webhook_batch: opts.webhookBatch,
    webhook_concurrency: opts.webhookConcurrency,
    sent_status: opts.sentStatus,
    world_nice: opts.worldNice,
    accepted: accepted.size,
    rejected: Object.fromEntries(i.result.rejected),
    behind: i.result.behind,
    accepted_mps: round(acceptedMps),
    delivered_mps: round(deliveredInWindow / windowS),
    inbound_mps: round((receiver.inbound.size - i.inboundBefore) / windowS),
    inbound_offered_mps: opts.inbound,
    inbound_lost: inboundLost,
    inbound_duplicates: inboundDup,
    p50_accept_ms: round(percentile(acceptMs, 0.5)),
    p95_accept_ms: round(percentile(acceptMs, 0.95)),
    p99_accept_ms: round(percentile(acceptMs, 0.99)),
    p50_e2e_ms: round(percentile(e2eMs, 0.5)),
    p95_e2e_ms: round(percentile(e2eMs, 0.95)),
    p99_e2e_ms: round(percentile(e2eMs, 0.99)),
    callbacks,
    drain_s: round(i.drainS),
    lost,
    lost_at_phone: lostAtPhone,
    lost_delivered_callback: lostCallback,
    duplicates: dupAtPhone + dupCallback,
    duplicates_at_phone: dupAtPhone,
    duplicate_delivered_callbacks: dupCallback,
    floor_mps: i.floor ? round(i.floor.mps) : null,
    floor_p50_accept_ms: i.floor ? round(i.floor.p50) : null,
    floor_p99_accept_ms: i.floor ? round(i.floor.p99) : null,
    floor_ratio: i.floor ? round(acceptedMps / i.floor.mps, 3) : null,
    cpu_cores: round(cores, 2),
    peak_rss_mb: Math.max(...Object.values(processes).map((p) => p.peak_rss_mb)),
    processes,
  }
}

export type Results = ReturnType<typeof collectResults>

export function printResults(r: Results, rejected: Map<string, number>): void {
  const lines = [
    '',
    `accepted     ${r.accepted} = ${r.accepted_mps} msg/s   (p50 ${r.p50_accept_ms} ms, p95 ${r.p95_accept_ms} ms, p99 ${r.p99_accept_ms} ms)${rejected.size ? `   rejected ${JSON.stringify(Object.fromEntries(rejected))}` : ''}${r.behind ? `   ${r.behind} behind schedule` : ''}`,
    `delivered    ${r.delivered_mps} msg/s in the window   accept→delivered callback p50 ${r.p50_e2e_ms} ms, p95 ${r.p95_e2e_ms} ms, p99 ${r.p99_e2e_ms} ms   drain ${r.drain_s} s`,
    `callbacks    ${Object.entries(r.callbacks).map(([s, c]) => `${s} ${c.per_s}/s (${c.total})`).join(', ')}`,
    `inbound      ${r.inbound_mps} msg/s (offered ${r.inbound_offered_mps}/s, lost ${r.inbound_lost}, duplicated ${r.inbound_duplicates})`,
    `lost         ${r.lost} (not at phone ${r.lost_at_phone}, no delivered callback ${r.lost_delivered_callback})   duplicates ${r.duplicates} (at phone ${r.duplicates_at_phone}, delivered callbacks ${r.duplicate_delivered_callbacks})`,
    `floor        ${r.floor_mps ?? '-'} msg/s (p50 ${r.floor_p50_accept_ms ?? '-'} ms, p99 ${r.floor_p99_accept_ms ?? '-'} ms)   wabox/floor ${r.floor_ratio ?? '-'}`,
    `cpu          ${r.cpu_cores} cores in all: ${Object.entries(r.processes).map(([n, p]) => `${n} ${p.cpu_cores} cores, peak RSS ${p.peak_rss_mb} MB`).join('; ')}`,
  ]
  console.log(lines.join('\n'))
}
