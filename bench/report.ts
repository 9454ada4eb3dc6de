/** Turns what the bench recorded into figures (the `--json` objects) and the printed summary. */
import type { Usage } from './ipc.js'
import type { BenchOptions } from './options.js'
import type { WindowRecord } from './window.js'
import { PROCESSES, type Usages, type World } from './world.js'

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

export const round = (n: number, digits = 1) => Number(n.toFixed(digits))

/** The run's settings, first in every JSON result. */
export function settingsOf(opts: BenchOptions) {
  return {
    mode: opts.mode,
    db: opts.db,
    format: opts.format,
    coreapps: opts.coreapps ?? null,
    duration_s: opts.durationS,
    rate: opts.rate ?? 'max',
    phones: opts.phones,
    new_users: opts.newUsers,
    concurrency: opts.concurrency,
    webhook_batch: opts.webhookBatch,
    webhook_concurrency: opts.webhookConcurrency,
    webhook_latency_ms: opts.webhookLatencyMs,
    sent_status: opts.sentStatus,
    world_nice: opts.worldNice,
    jemalloc: opts.jemalloc.join(',') || 'none',
    inbound_offered_mps: opts.inbound,
  }
}

/**
 * The backlog at the window's middle and end, read off a least-squares line through the second
 * half's samples: one webhook batch or group commit in flight at either moment does not decide.
 */
export function backlogTrend(samples: { t: number; n: number }[], windowMs: number): { middle: number; end: number } {
  const half = samples.filter((s) => s.t >= windowMs / 2)
  if (half.length < 2) return { middle: NaN, end: NaN }
  const meanT = half.reduce((sum, s) => sum + s.t, 0) / half.length
  const meanN = half.reduce((sum, s) => sum + s.n, 0) / half.length
  const sxx = half.reduce((sum, s) => sum + (s.t - meanT) ** 2, 0)
  const slope = sxx ? half.reduce((sum, s) => sum + (s.t - meanT) * (s.n - meanN), 0) / sxx : 0
  return { middle: meanN + slope * (windowMs / 2 - meanT), end: meanN + slope * (windowMs - meanT) }
}

/** The figures of one window: throughput, latencies, callbacks, CPU and memory per process. */
export function windowFigures(world: World, rec: WindowRecord) {
  const { receiver } = world
  const { accepted, windowS, t0, tEnd } = rec
  const acceptMs = [...accepted.values()].map((a) => a.latencyMs).sort((a, b) => a - b)
  const delivered = receiver.statuses.get('delivered') ?? new Map<string, number[]>()
  const e2eMs: number[] = []
  let deliveredInWindow = 0
  let newUsersAccepted = 0
  let newUsersDelivered = 0
  for (const [id, a] of accepted) {
    const times = delivered.get(id)
    const toNew = world.fresh.has(a.to)
    if (toNew) newUsersAccepted++
    if (!times) continue
    e2eMs.push(Math.max(0, times[0]! - a.at))
    if (times[0]! <= tEnd) {
      deliveredInWindow++
      if (toNew) newUsersDelivered++
    }
  }
  e2eMs.sort((a, b) => a - b)

  // callbacks per status about messages of the window, counted as they arrived within it; and about any message
  const callbacks: Record<string, { total: number; per_s: number }> = {}
  const anyMessage: Record<string, number> = {}
  for (const [status, byId] of receiver.statuses) {
    let total = 0
    let inWindow = 0
    let all = 0
    for (const [id, times] of byId) {
      const arrived = times.filter((t) => t >= t0 && t <= tEnd).length
      all += arrived
      if (!accepted.has(id)) continue
      total += times.length
      inWindow += arrived
    }
    callbacks[status] = { total, per_s: round(inWindow / windowS) }
    anyMessage[status] = round(all / windowS)
  }

  // CPU-ms per message delivered end to end in the window; RSS at the window's end
  const perMsg = (cpuUs: number) => (deliveredInWindow ? round(cpuUs / 1000 / deliveredInWindow, 3) : null)
  const processes: Record<string, { cpu_cores: number; cpu_ms_per_msg: number | null; rss_mb: number; peak_rss_mb: number }> = {}
  let cores = 0
  for (const name of PROCESSES) {
    const cpuUs = rec.after[name].cpuUs - rec.before[name].cpuUs
    cores += cpuUs / 1e6 / windowS
    processes[name] = { cpu_cores: round(cpuUs / 1e6 / windowS, 2), cpu_ms_per_msg: perMsg(cpuUs), rss_mb: rec.after[name].rssMb, peak_rss_mb: rec.after[name].maxRssMb }
  }
  const parts = rec.after.wabox.parts
  const waboxParts = parts
    ? Object.fromEntries(Object.entries(parts).map(([name, u]) => [name, partFigures(u, rec.before.wabox.parts?.[name], windowS, perMsg)]))
    : undefined
  const { middle, end } = backlogTrend(rec.backlog, windowS * 1000)
  const hook = (k: 'statusEvents' | 'posts') => round((rec.hookAfter[k] - rec.hookBefore[k]) / windowS)
  return {
    offered_mps: rec.rate ?? 'max',
    accepted: accepted.size,
    rejected: Object.fromEntries(rec.result.rejected),
    behind: rec.result.behind,
    accepted_mps: round(accepted.size / windowS),
    delivered: deliveredInWindow,
    delivered_mps: round(deliveredInWindow / windowS),
    backlog_middle: round(middle),
    backlog_end: round(end),
    inbound_mps: round((rec.hookAfter.inbound - rec.hookBefore.inbound) / windowS),
    p50_accept_ms: round(percentile(acceptMs, 0.5)),
    p95_accept_ms: round(percentile(acceptMs, 0.95)),
    p99_accept_ms: round(percentile(acceptMs, 0.99)),
    p50_e2e_ms: round(percentile(e2eMs, 0.5)),
    p95_e2e_ms: round(percentile(e2eMs, 0.95)),
    p99_e2e_ms: round(percentile(e2eMs, 0.99)),
    callbacks,
    // every status the receiver got in the window, whoever's message, and the TCP connections it accepted
    webhook_statuses_per_s: hook('statusEvents'),
    webhook_statuses_per_s_by_status: anyMessage,
    webhook_posts_per_s: hook('posts'),
    webhook_new_connections: rec.hookAfter.connections - rec.hookBefore.connections,
    webhook_connections_total: rec.hookAfter.connections,
    new_user_messages: {
      offered: rec.newUsersOffered,
      offered_per_s: round(rec.newUsersOffered / windowS),
      accepted: newUsersAccepted,
      delivered_in_window: newUsersDelivered,
      delivered_per_s: round(newUsersDelivered / windowS),
      delivered_ratio: rec.newUsersOffered ? round(newUsersDelivered / rec.newUsersOffered, 3) : null,
    },
    wabox_cpu_ms_per_msg: processes.wabox!.cpu_ms_per_msg,
    network_cpu_ms_per_msg: processes.network!.cpu_ms_per_msg,
    phones_cpu_ms_per_msg: processes.phones!.cpu_ms_per_msg,
    loadgen_cpu_ms_per_msg: processes.bench!.cpu_ms_per_msg,
    cpu_cores: round(cores, 2),
    peak_rss_mb: Math.max(...Object.values(processes).map((p) => p.peak_rss_mb)),
    processes,
    ...(waboxParts ? { wabox_processes: waboxParts } : {}),
  }
}

function partFigures(after: Usage, before: Usage | undefined, windowS: number, perMsg: (cpuUs: number) => number | null) {
  const cpuUs = after.cpuUs - (before?.cpuUs ?? 0)
  return { cpu_cores: round(cpuUs / 1e6 / windowS, 2), cpu_ms_per_msg: perMsg(cpuUs), rss_mb: after.rssMb, peak_rss_mb: after.maxRssMb }
}

export type WindowFigures = ReturnType<typeof windowFigures>

/** Lost and duplicated among `ids` (outbound, checked at the phones and the receiver) and the inbound messages. */
export function lossFigures(world: World, ids: Iterable<string>) {
  const { receiver, atPhone } = world
  const delivered = receiver.statuses.get('delivered') ?? new Map<string, number[]>()
  let lostAtPhone = 0
  let lostCallback = 0
  let lost = 0
  let dupAtPhone = 0
  let dupCallback = 0
  for (const id of ids) {
    const times = delivered.get(id)
    const phone = atPhone.get(id) ?? 0
    if (!times) lostCallback++
    else if (times.length > 1) dupCallback++
    if (phone === 0) lostAtPhone++
    if (phone > 1) dupAtPhone++
    if (!times || phone === 0) lost++
  }
  let inboundLost = 0
  let inboundDup = 0
  for (const id of world.inboundSent) {
    const n = receiver.inbound.get(id) ?? 0
    if (n === 0) inboundLost++
    if (n > 1) inboundDup++
  }
  return {
    lost,
    lost_at_phone: lostAtPhone,
    lost_delivered_callback: lostCallback,
    duplicates: dupAtPhone + dupCallback,
    duplicates_at_phone: dupAtPhone,
    duplicate_delivered_callbacks: dupCallback,
    inbound_sent: world.inboundSent.size,
    inbound_lost: inboundLost,
    inbound_duplicates: inboundDup,
  }
}

export type LossFigures = ReturnType<typeof lossFigures>

/**
 * CPU-ms per accepted message from the window's start until its last message was delivered:
 * the work the window's messages cost wherever they queued, so runs whose backlogs differ compare.
 */
export function drainedFigures(rec: WindowRecord, drained: Usages) {
  const n = rec.accepted.size
  const perAccepted = Object.fromEntries(PROCESSES.map((name) => [name === 'bench' ? 'loadgen' : name, n ? round((drained[name].cpuUs - rec.before[name].cpuUs) / 1000 / n, 3) : null]))
  return { cpu_ms_per_accepted_msg: perAccepted as Record<'wabox' | 'network' | 'phones' | 'loadgen', number | null> }
}

const mb = (n: number) => `${n} MB`

export function printWindow(r: WindowFigures & Partial<ReturnType<typeof drainedFigures>>): void {
  const procs = Object.entries(r.processes)
  const lines = [
    `accepted     ${r.accepted} = ${r.accepted_mps} msg/s of ${r.offered_mps} offered   (p50 ${r.p50_accept_ms} ms, p95 ${r.p95_accept_ms} ms, p99 ${r.p99_accept_ms} ms)${Object.keys(r.rejected).length ? `   rejected ${JSON.stringify(r.rejected)}` : ''}${r.behind ? `   ${r.behind} behind schedule` : ''}`,
    `delivered    ${r.delivered_mps} msg/s in the window   accept→delivered callback p50 ${r.p50_e2e_ms} ms, p95 ${r.p95_e2e_ms} ms, p99 ${r.p99_e2e_ms} ms   backlog ${r.backlog_middle} at the middle, ${r.backlog_end} at the end`,
    `callbacks    ${Object.entries(r.callbacks).map(([s, c]) => `${s} ${c.per_s}/s (${c.total})`).join(', ')}`,
    `webhooks     ${r.webhook_statuses_per_s} statuses/s received (${Object.entries(r.webhook_statuses_per_s_by_status).map(([s, n]) => `${s} ${n}/s`).join(', ')}; offered ${r.offered_mps} msg/s) in ${r.webhook_posts_per_s} POSTs/s, ${r.webhook_new_connections} new connections in the window (${r.webhook_connections_total} in all)`,
    `inbound      ${r.inbound_mps} msg/s`,
    ...(r.new_user_messages.offered ? [`new users    ${r.new_user_messages.offered} offered (${r.new_user_messages.offered_per_s}/s), ${r.new_user_messages.delivered_in_window} delivered in the window (${r.new_user_messages.delivered_per_s}/s) = ${r.new_user_messages.delivered_ratio} of offered`] : []),
    `cpu          ${r.cpu_cores} cores in all: ${procs.map(([n, p]) => `${n} ${p.cpu_cores} cores`).join(', ')}`,
    `cpu-ms/msg   ${procs.map(([n, p]) => `${n === 'bench' ? 'loadgen' : n} ${p.cpu_ms_per_msg ?? '-'}`).join(', ')}   (CPU over the window ÷ ${r.delivered} delivered in it)`,
    ...(r.cpu_ms_per_accepted_msg ? [`drained      ${Object.entries(r.cpu_ms_per_accepted_msg).map(([n, ms]) => `${n} ${ms ?? '-'}`).join(', ')}   (CPU-ms from the window's start until its last message was through ÷ ${r.accepted} accepted)`] : []),
    `rss          ${procs.map(([n, p]) => `${n} ${mb(p.rss_mb)} (peak ${mb(p.peak_rss_mb)})`).join(', ')}`,
    ...(r.wabox_processes ? [`wabox procs  ${Object.entries(r.wabox_processes).map(([n, p]) => `${n} ${p.cpu_cores} cores, ${p.cpu_ms_per_msg ?? '-'} ms/msg, ${mb(p.rss_mb)}`).join('; ')}`] : []),
  ]
  console.log(lines.join('\n'))
}

export function printLoss(r: LossFigures): void {
  console.log([
    `lost         ${r.lost} (not at phone ${r.lost_at_phone}, no delivered callback ${r.lost_delivered_callback})   duplicates ${r.duplicates} (at phone ${r.duplicates_at_phone}, delivered callbacks ${r.duplicate_delivered_callbacks})`,
    `inbound      ${r.inbound_sent} sent, lost ${r.inbound_lost}, duplicated ${r.inbound_duplicates}`,
  ].join('\n'))
}
