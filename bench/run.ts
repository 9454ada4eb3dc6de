/**
 * `npm run bench -- [options]`: end-to-end load test of wabox. Four processes:
 *  - network (bench/network.ts): the simulated WhatsApp network server;
 *  - phones (bench/phones.ts): the simulated phones, connected to it;
 *  - wabox (bench/wabox.mjs over dist/, or bench/cluster.ts): WebApp + CoreApp + webhook dispatcher, as `wabox start` composes them;
 *  - this one: the load generator (undici Pool on keep-alive connections) and the webhook receiver.
 * Modes on one running world (bench/world.ts): one measured window, then the same load against
 * a minimal Fastify + SQLite handler (bench/floor.ts); `--sustain` (bench/sustain.ts); `--soak`
 * (bench/soak.ts). `--help` lists the options; docs/benchmarks.md has results.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Child } from './ipc.js'
import { LoadGenerator } from './load.js'
import { parseOptions } from './options.js'
import { drainedFigures, lossFigures, printLoss, printWindow, round, settingsOf, windowFigures } from './report.js'
import { soak } from './soak.js'
import { sustain } from './sustain.js'
import { drain, measureWindow } from './window.js'
import { type Usages, World } from './world.js'

const opts = parseOptions(process.argv.slice(2))
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-bench-'))
const world = new World(opts, dir)

/**
 * Waits for the outstanding messages, then a second for late duplicates; returns the drain's
 * length in s and every process's usage once the last message was through (before that second).
 */
async function drained(ids: Iterable<string>, tEnd: number): Promise<{ drainS: number; usage: Usages }> {
  await world.stopInbound()
  const outstanding = await drain(world, ids, opts.drainTimeoutS)
  if (outstanding) console.log(`bench: counting the ${outstanding} outstanding as lost`)
  const usage = await world.usage()
  await new Promise((resolve) => setTimeout(resolve, 1000))
  return { drainS: (performance.now() - tEnd) / 1000, usage }
}

/** The same load against one SQLite insert per request. */
async function floorRun(): Promise<{ mps: number; p50: number; p99: number; cpuMsPerRequest: number }> {
  const floorProc = new Child('floor', 'floor.ts', [path.join(dir, 'floor.db')])
  const { url } = await floorProc.next('ready')
  const latencies: number[] = []
  const f0 = await floorProc.usage()
  const phones = [...world.established, ...world.fresh]
  const floorLoad = new LoadGenerator({
    origin: String(url), headers: {}, rate: opts.rate, concurrency: opts.concurrency, durationS: opts.floorDurationS,
    next: (i) => world.sender.text(phones[i % phones.length]!, i), onAccepted: (_id, _to, _at, ms) => latencies.push(ms),
  })
  const r = await floorLoad.run()
  const f1 = await floorProc.usage()
  await floorLoad.close()
  await floorProc.close()
  latencies.sort((a, b) => a - b)
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN
  return { mps: r.accepted / opts.floorDurationS, p50: q(0.5), p99: q(0.99), cpuMsPerRequest: (f1.cpuUs - f0.cpuUs) / 1000 / Math.max(1, r.accepted) }
}

async function windowMode(): Promise<object> {
  world.startInbound()
  const rec = await measureWindow(world, { rate: opts.rate, durationS: opts.durationS, progress: true })
  const { drainS, usage } = await drained(rec.accepted.keys(), rec.tEnd)
  const figures = { ...windowFigures(world, rec), ...drainedFigures(rec, usage) }
  const loss = lossFigures(world, rec.accepted.keys())
  await world.stopProcesses()
  const floor = opts.floorDurationS > 0 ? await floorRun() : undefined
  console.log('')
  printWindow(figures)
  printLoss(loss)
  const floorCpu = floor ? round(floor.cpuMsPerRequest, 3) : null
  console.log(`floor        ${floor ? round(floor.mps) : '-'} msg/s (p50 ${floor ? round(floor.p50) : '-'} ms, p99 ${floor ? round(floor.p99) : '-'} ms, ${floorCpu ?? '-'} CPU-ms per request)   wabox/floor ${floor ? round(figures.accepted_mps / floor.mps, 3) : '-'}`)
  return {
    ...settingsOf(opts), ...figures, drain_s: round(drainS), ...loss,
    floor_mps: floor ? round(floor.mps) : null,
    floor_p50_accept_ms: floor ? round(floor.p50) : null,
    floor_p99_accept_ms: floor ? round(floor.p99) : null,
    floor_ratio: floor ? round(figures.accepted_mps / floor.mps, 3) : null,
    floor_cpu_ms_per_msg: floorCpu,
  }
}

async function sustainMode(): Promise<object> {
  world.startInbound()
  const result = await sustain(world)
  await drained(result.ids, performance.now())
  const loss = lossFigures(world, result.ids)
  console.log('')
  if (result.sustained_run) {
    console.log(`the step at the sustained rate, ${result.sustained_mps} msg/s:`)
    printWindow(result.sustained_run)
  }
  console.log(`sustained    ${result.sustained_mps ?? 'none'} msg/s (${result.sustain_steps.map((s) => `${s.offered_mps} ${s.held ? 'held' : 'failed'}`).join(', ')})`)
  printLoss(loss)
  return { ...settingsOf(opts), sustained_mps: result.sustained_mps, sustain_steps: result.sustain_steps, sustained_run: result.sustained_run, ...loss }
}

async function soakMode(): Promise<object> {
  world.startInbound()
  const { record, ...result } = await soak(world)
  const { drainS, usage } = await drained(record.accepted.keys(), record.tEnd)
  const figures = { ...windowFigures(world, record), ...drainedFigures(record, usage) }
  const loss = lossFigures(world, record.accepted.keys())
  console.log('\nthe whole soak as one window:')
  printWindow(figures)
  printLoss(loss)
  return { ...settingsOf(opts), soak_minute_s: opts.soakMinuteS, ...result, soak_run: figures, drain_s: round(drainS), ...loss }
}

try {
  await world.start()
  const results = opts.mode === 'sustain' ? await sustainMode() : opts.mode === 'soak' ? await soakMode() : await windowMode()
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(results, null, 2) + '\n')
} finally {
  await world.close()
  fs.rmSync(dir, { recursive: true, force: true })
}
