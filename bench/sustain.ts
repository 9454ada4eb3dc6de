/**
 * `--sustain`: the highest offered rate that holds, on one running world. Steps up from
 * `--rate` by `--sustain-step` until a step fails (stepping down instead while none has held),
 * then bisects between the last rate that held and the first that failed down to a quarter
 * step. Every step is a window of `--duration` s, and its messages drain before the next.
 */
import { round, windowFigures, type WindowFigures } from './report.js'
import { drain, measureWindow } from './window.js'
import type { World } from './world.js'

/** delivered/s at least this share of offered. */
const DELIVERED_SHARE = 0.98
/**
 * The backlog may grow from the window's middle to its end (read off its trend, see
 * backlogTrend) by at most this share of the messages offered in that half: the same 2 % the
 * delivered share allows, so a backlog that wobbles by a webhook batch does not fail a step.
 */
const BACKLOG_GROWTH = 0.02
const P99_ACCEPT_MS = 50
const MAX_STEPS = 30

export interface SustainStep {
  offered_mps: number
  accepted_mps: number
  delivered_mps: number
  delivered_ratio: number
  backlog_middle: number
  backlog_end: number
  backlog_growth: number
  backlog_growth_limit: number
  p99_accept_ms: number
  wabox_cpu_ms_per_msg: number | null
  network_cpu_ms_per_msg: number | null
  phones_cpu_ms_per_msg: number | null
  loadgen_cpu_ms_per_msg: number | null
  wabox_rss_mb: number
  held: boolean
  /** Which conditions failed. */
  failed: string[]
  /** Messages of the step still undelivered after the drain. */
  outstanding: number
}

/** How much the backlog may grow over the second half of a window; at least one message (a backlog is whole messages). */
export function backlogGrowthLimit(rate: number, windowS: number): number {
  return Math.max(1, BACKLOG_GROWTH * rate * (windowS / 2))
}

/** Why a step did not hold; empty when it held. */
export function failedConditions(rate: number, windowS: number, f: Pick<WindowFigures, 'delivered_mps' | 'backlog_middle' | 'backlog_end' | 'p99_accept_ms'>): string[] {
  const failed: string[] = []
  if (!(f.delivered_mps >= DELIVERED_SHARE * rate)) failed.push(`delivered < ${DELIVERED_SHARE * 100} % of offered`)
  if (!(f.backlog_end - f.backlog_middle <= backlogGrowthLimit(rate, windowS))) failed.push('backlog grew')
  if (!(f.p99_accept_ms < P99_ACCEPT_MS)) failed.push(`p99 accept >= ${P99_ACCEPT_MS} ms`)
  return failed
}

/** The next rate to try, or undefined when the search is done. */
export function nextRate(step: number, good: number | undefined, bad: number | undefined): number | undefined {
  if (bad === undefined) return (good ?? 0) + step
  if (good === undefined) return bad - step > 0 ? bad - step : undefined
  if (bad - good <= Math.ceil(step / 4)) return undefined
  return Math.round((good + bad) / 2)
}

export interface SustainResult {
  sustained_mps: number | null
  sustain_steps: SustainStep[]
  /** The full figures of the step at sustained_mps. */
  sustained_run: WindowFigures | null
  /** Every message accepted in any step, for the loss check. */
  ids: string[]
}

export async function sustain(world: World): Promise<SustainResult> {
  const { opts } = world
  const steps: SustainStep[] = []
  const ids: string[] = []
  let good: number | undefined
  let bad: number | undefined
  let best: WindowFigures | null = null
  let rate: number | undefined = opts.rate!
  while (rate !== undefined && steps.length < MAX_STEPS) {
    console.log(`bench: step ${steps.length + 1}: ${rate} msg/s offered for ${opts.durationS} s`)
    const rec = await measureWindow(world, { rate, durationS: opts.durationS, progress: true })
    for (const id of rec.accepted.keys()) ids.push(id)
    const t = performance.now()
    // the step's own messages; inbound goes on through the search and is checked at its end
    const outstanding = await drain(world, rec.accepted.keys(), opts.drainTimeoutS, false)
    const drainS = (performance.now() - t) / 1000
    const f = windowFigures(world, rec)
    const failed = failedConditions(rate, opts.durationS, f)
    const step: SustainStep = {
      offered_mps: rate,
      accepted_mps: f.accepted_mps,
      delivered_mps: f.delivered_mps,
      delivered_ratio: round(f.delivered_mps / rate, 3),
      backlog_middle: f.backlog_middle,
      backlog_end: f.backlog_end,
      backlog_growth: round(f.backlog_end - f.backlog_middle),
      backlog_growth_limit: round(backlogGrowthLimit(rate, opts.durationS)),
      p99_accept_ms: f.p99_accept_ms,
      wabox_cpu_ms_per_msg: f.wabox_cpu_ms_per_msg,
      network_cpu_ms_per_msg: f.network_cpu_ms_per_msg,
      phones_cpu_ms_per_msg: f.phones_cpu_ms_per_msg,
      loadgen_cpu_ms_per_msg: f.loadgen_cpu_ms_per_msg,
      wabox_rss_mb: f.processes.wabox!.rss_mb,
      held: failed.length === 0,
      failed,
      outstanding,
    }
    steps.push(step)
    console.log(`step ${steps.length}: ${rate} msg/s offered: accepted ${step.accepted_mps}/s, delivered ${step.delivered_mps}/s (${round(step.delivered_ratio * 100)} %), `
      + `backlog ${step.backlog_middle} → ${step.backlog_end} (growth ${step.backlog_growth}, limit ${step.backlog_growth_limit}), p99 accept ${step.p99_accept_ms} ms, `
      + `wabox ${step.wabox_cpu_ms_per_msg ?? '-'} cpu-ms/msg, drained in ${round(drainS)} s: ${step.held ? 'HELD' : `failed (${failed.join('; ')})`}`)
    if (step.held && (good === undefined || rate > good)) [good, best] = [rate, f]
    if (!step.held) bad = bad === undefined ? rate : Math.min(bad, rate)
    if (outstanding > 0) {
      console.log(`bench: ${outstanding} messages of the step did not drain; stopping the search`)
      break
    }
    rate = nextRate(opts.sustainStepMps, good, bad)
  }
  console.log(`bench: sustained ${good ?? 'no rate'}${good !== undefined ? ' msg/s' : ''} (${steps.length} steps)`)
  return { sustained_mps: good ?? null, sustain_steps: steps, sustained_run: best, ids }
}
