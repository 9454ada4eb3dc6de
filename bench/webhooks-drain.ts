// Drains a backlog of callbacks (SQLite) to a local receiver that answers 200, and prints the
// drain rate, the dispatcher process's CPU per callback and its peak RSS.
//   node --expose-gc --import tsx bench/webhooks-drain.ts [--count 100000] [--concurrency 6] [--batch 1]
//     [--format onprem|cloud] [--latency-ms 0]
// (--latency-ms: the receiver answers each POST after that long, on a timer)
// (--expose-gc lets it collect the enqueue phase's garbage before measuring the baseline)
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import pino from 'pino'
import prom from 'prom-client'
import { systemClock } from '../src/clock.js'
import { DEFAULT_SETTINGS } from '../src/domain/settings.js'
import type { CallbackEvent } from '../src/domain/events.js'
import { openDatabase } from '../src/store/database.js'
import { migrate } from '../src/store/migrate.js'
import { Sealer } from '../src/store/sealer.js'
import { Store } from '../src/store/store.js'
import { WebhookDispatcher } from '../src/webhooks/index.js'

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '6' },
    batch: { type: 'string', default: '1' },
    format: { type: 'string', default: 'onprem' },
    'latency-ms': { type: 'string', default: '0' },
  },
})
const count = Number(values.count)
const concurrency = Number(values.concurrency) as 6 | 12 | 18 | 24
const batch = Number(values.batch)
if (values.format !== 'onprem' && values.format !== 'cloud') throw new Error('--format must be onprem or cloud')
const format: 'onprem' | 'cloud' = values.format
const latencyMs = Number(values['latency-ms'])
if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new Error('--latency-ms must be a number of milliseconds, 0 or more')

// The receiver runs in its own process so its memory and CPU are not counted here.
const RECEIVER = `
const http = require('node:http')
let n = 0
const server = http.createServer((req, res) => {
  req.on('data', () => {})
  req.on('end', () => { n++; if (LATENCY > 0) setTimeout(() => res.writeHead(200).end('ok'), LATENCY); else res.writeHead(200).end('ok') })
})
server.keepAliveTimeout = 60000
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'))
process.on('SIGTERM', () => { process.stdout.write('received ' + n + '\\n'); process.exit(0) })
`

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-bench-webhooks-'))
  const receiver = spawn(process.execPath, ['-e', `const LATENCY = ${latencyMs}\n${RECEIVER}`], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines: string[] = []
  let onLine: (() => void) | undefined
  receiver.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    lines.push(...chunk.split('\n').filter(Boolean))
    onLine?.()
  })
  const nextLine = () => new Promise<string>((resolve) => {
    const take = () => {
      const line = lines.shift()
      if (line === undefined) return
      onLine = undefined
      resolve(line)
    }
    onLine = take
    take()
  })
  const port = Number(await nextLine())

  const database = openDatabase({ sqlitePath: path.join(dir, 'wabox.db') })
  await migrate(database)
  const store = Store.open(database, new Sealer(randomBytes(32)), systemClock)
  await store.numbers.create({ id: 'bench', cc: '1', number: '5550000000', displayName: 'Bench' })
  await store.numbers.saveSettings('bench', {
    webhooks: { ...DEFAULT_SETTINGS.webhooks, url: `http://127.0.0.1:${port}/hook`, max_concurrent_requests: concurrency, batch_size: batch, format },
  })

  const enqueueStarted = performance.now()
  const chunk = 1000
  for (let i = 0; i < count; i += chunk) {
    const events: CallbackEvent[] = []
    for (let j = i; j < Math.min(count, i + chunk); j++) {
      events.push({ type: 'status', status: { id: `wamid.bench-${j}`, recipient_id: '16315551234', status: 'delivered', timestamp: '1767225600' } })
    }
    await store.transaction((tx) => tx.callbacks.enqueueMany('bench', events))
  }
  const enqueueSeconds = (performance.now() - enqueueStarted) / 1000
  global.gc?.()
  const baselineRss = process.memoryUsage().rss

  const registry = new prom.Registry()
  const dispatcher = new WebhookDispatcher({
    store, clock: systemClock, logger: pino({ level: 'warn' }), registry, allowInsecureLoopback: true,
  })
  const attempts = registry.getSingleMetric('wabox_callback_attempts_total') as prom.Counter
  const delivered = async () => (await attempts.get()).values.find((v) => v.labels.result === 'success')?.value ?? 0

  let peakRss = baselineRss
  let peakHeap = process.memoryUsage().heapUsed
  const baselineHeap = peakHeap
  const sampler = setInterval(() => {
    const m = process.memoryUsage()
    peakRss = Math.max(peakRss, m.rss)
    peakHeap = Math.max(peakHeap, m.heapUsed)
  }, 50)
  // what the dispatcher actually holds: heap after a full GC, every 2 s (needs --expose-gc)
  let peakRetained = 0
  const retained = setInterval(() => {
    if (!global.gc) return
    global.gc()
    peakRetained = Math.max(peakRetained, process.memoryUsage().heapUsed)
  }, 2000)
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  dispatcher.start()
  while ((await delivered()) < count) await new Promise((resolve) => setTimeout(resolve, 50))
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  await dispatcher.stop()
  clearInterval(sampler)
  clearInterval(retained)
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
  const left = await store.callbacks.pendingCount()

  receiver.kill('SIGTERM')
  const received = await nextLine()
  await database.close()
  fs.rmSync(dir, { recursive: true, force: true })

  const mb = (b: number) => (b / 1024 / 1024).toFixed(1)
  console.log(`webhooks drain: ${count} callbacks, SQLite, ${format} format, max_concurrent_requests=${concurrency}, batch_size=${batch}, receiver answers after ${latencyMs} ms`)
  console.log(`  enqueue:        ${(count / enqueueSeconds).toFixed(0)} callbacks/s (${enqueueSeconds.toFixed(1)} s)`)
  console.log(`  drain:          ${(count / seconds).toFixed(0)} callbacks/s (${seconds.toFixed(1)} s), receiver answered ${received.replace('received ', '')} POSTs, ${left} left pending`)
  console.log(`  CPU:            ${((cpu.user + cpu.system) / 1000 / count).toFixed(3)} CPU-ms per callback, ${((cpu.user + cpu.system) / 1e6 / seconds).toFixed(2)} cores (the dispatcher's process, receiver apart)`)
  console.log(`  RSS:            ${mb(baselineRss)} MB before the drain, peak ${mb(peakRss)} MB during it (maxRSS of the process ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MB)`)
  console.log(`  JS heap used:   ${mb(baselineHeap)} MB before the drain, peak ${mb(peakHeap)} MB during it${global.gc ? `, at most ${mb(peakRetained)} MB live after GC` : ''}`)
  if (left !== 0) process.exitCode = 1
}

await main()
