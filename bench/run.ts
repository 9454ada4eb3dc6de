/**
 * `npm run bench -- [options]`: end-to-end load test of wabox. Four processes:
 *  - network (bench/network.ts): the simulated WhatsApp network server;
 *  - phones (bench/phones.ts): the simulated phones, connected to it;
 *  - wabox (bench/wabox.ts): WebApp + CoreApp + webhook dispatcher, as `wabox start` composes them;
 *  - this one: the load generator (undici Pool on keep-alive connections) and the webhook receiver.
 * Then the same load against a minimal Fastify + SQLite handler (bench/floor.ts).
 * `--help` lists the options; docs/benchmarks.md has results.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { request } from 'undici'
import { Child, usage, type Usage } from './ipc.js'
import { LoadGenerator, type Request } from './load.js'
import { parseOptions } from './options.js'
import { WebhookReceiver } from './receiver.js'
import { collectResults, printResults } from './report.js'

const opts = parseOptions(process.argv.slice(2))
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-bench-'))
const log = (line: string) => console.log(line)
const cleanups: (() => Promise<unknown>)[] = []

async function until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** PostgreSQL or MySQL/MariaDB: a fresh database for this run, dropped at the end. */
async function freshDatabase(engine: 'postgres' | 'mysql'): Promise<string> {
  const base = engine === 'postgres'
    ? process.env.WABOX_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
    : process.env.WABOX_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'
  const name = 'wabox_bench_' + randomBytes(6).toString('hex')
  const admin = async (sql: string) => {
    if (engine === 'mysql') {
      const connection = await mysql.createConnection({ uri: base })
      return connection.query(sql).finally(() => connection.end())
    }
    const client = new pg.Client({ connectionString: base })
    await client.connect()
    return client.query(sql).finally(() => client.end())
  }
  await admin(engine === 'mysql' ? `CREATE DATABASE ${name} CHARACTER SET utf8mb4` : `CREATE DATABASE ${name}`)
  cleanups.push(() => admin(engine === 'mysql' ? `DROP DATABASE IF EXISTS ${name}` : `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  const url = new URL(base)
  url.pathname = '/' + name
  return url.toString()
}

async function api(base: string, method: 'GET' | 'POST' | 'PATCH', url: string, headers: Record<string, string>, body?: object): Promise<Record<string, unknown>> {
  const res = await request(base + url, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body ? { body: JSON.stringify(body) } : {}) })
  const text = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: HTTP ${res.statusCode} ${text}`)
  return text ? (JSON.parse(text) as Record<string, unknown>) : {}
}

async function main(): Promise<void> {
  const databaseUrl = opts.db === 'sqlite' ? '' : await freshDatabase(opts.db)
  const receiver = new WebhookReceiver()
  const hookUrl = await receiver.listen()
  cleanups.unshift(() => receiver.close())

  log(`bench: ${opts.db}, ${opts.phones} phones (${Math.round(opts.phones * opts.newUsers)} new users), ${opts.rate === undefined ? 'max rate' : `${opts.rate} msg/s`} for ${opts.durationS} s, ${opts.concurrency} connections, inbound ${opts.inbound}/s, network and phones at nice ${opts.worldNice}`)
  const network = new Child('network', 'network.ts', [], {}, opts.worldNice)
  cleanups.unshift(() => network.close())
  const net = await network.next('network')
  const fleet = new Child('phones', 'phones.ts', [String(net.wsUrl), String(net.url), String(net.controlToken)], {}, opts.worldNice)
  cleanups.unshift(() => fleet.close())
  await fleet.next('ready')
  if (opts.coreapps !== undefined && opts.db !== 'postgres') throw new Error('bench: --coreapps needs --db postgres')
  const wabox = opts.coreapps === undefined
    ? new Child('wabox', 'wabox.ts', [path.join(dir, 'wabox'), String(net.wsUrl), String(net.url), String(net.controlToken)], { WABOX_DATABASE_URL: databaseUrl })
    : new Child('wabox', 'cluster.ts', [path.join(dir, 'wabox'), String(net.wsUrl), String(net.url), String(net.controlToken)], { WABOX_DATABASE_URL: databaseUrl, WABOX_BENCH_COREAPPS: String(opts.coreapps) })
  cleanups.unshift(() => wabox.close())
  const tSetup = performance.now()
  const [ready, created] = await Promise.all([wabox.next('ready'), fleet.next('phones', { t: 'phones', count: opts.phones, concurrency: 16 })])
  const phones = created.waIds as string[]
  const credentials = ready.credentials as { api_url: string; numbers: { wa_id: string; api_key: string }[] }
  const number = credentials.numbers[0]!
  const auth = { 'D360-API-KEY': number.api_key }
  log(`bench: wabox at ${credentials.api_url}, ${phones.length} phones registered in ${((performance.now() - tSetup) / 1000).toFixed(1)} s`)

  // webhook: the 360dialog call for the URL; the rest are admin settings
  await api(credentials.api_url, 'POST', '/v1/configs/webhook', auth, { url: hookUrl })
  const login = await request(credentials.api_url + '/v1/users/login', {
    method: 'POST', body: JSON.stringify({ new_password: 'Bench-Passw0rd!' }),
    headers: { 'content-type': 'application/json', authorization: 'Basic ' + Buffer.from('admin:secret').toString('base64') },
  })
  const token = ((await login.body.json()) as { users: { token: string }[] }).users[0]!.token
  await api(credentials.api_url, 'PATCH', '/v1/settings/application', { authorization: `Bearer ${token}` },
    { sent_status: opts.sentStatus, webhooks: { batch_size: opts.webhookBatch, max_concurrent_requests: opts.webhookConcurrency } })
  if (opts.coreapps !== undefined) {
    // one shard per CoreApp at least, so that each has its part of the number's traffic
    const shards = 2 ** Math.ceil(Math.log2(opts.coreapps))
    await api(credentials.api_url, 'POST', '/v1/account/shards', { authorization: `Bearer ${token}` }, { cc: number.wa_id.slice(0, 1), phone_number: number.wa_id.slice(1), shards })
    log(`bench: ${opts.coreapps} CoreApps, ${shards} shards`)
  }
  const templates = await api(String(net.url), 'GET', `/control/accounts/${number.wa_id}/templates`, { authorization: `Bearer ${String(net.controlToken)}` })
  const namespace = String(templates.namespace)

  // phones report what they receive: id → count
  const atPhone = new Map<string, number>()
  fleet.on('received', (m) => {
    for (const id of m.ids as string[]) atPhone.set(id, (atPhone.get(id) ?? 0) + 1)
  })
  const inboundSent = new Set<string>()
  fleet.on('inbound-sent', (m) => {
    for (const id of m.ids as string[]) inboundSent.add(id)
  })

  // established users: they write first (opens the 24 h window) and get one message, delivered, before the window
  const newCount = Math.round(phones.length * opts.newUsers)
  const established = phones.slice(0, phones.length - newCount)
  const fresh = new Set(phones.slice(phones.length - newCount))
  const text = (to: string, i: number): Request => ({ to, body: JSON.stringify({ to, type: 'text', text: { body: `bench message ${i}: the quick brown fox jumps over the lazy dog` } }) })
  // new users have no open window, so they get the approved template (business-initiated, needs their pre-key bundle)
  const template = (to: string): Request => ({
    to, body: JSON.stringify({ to, type: 'template', template: { namespace, name: 'hello_world', language: { policy: 'deterministic', code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Bench' }] }] } }),
  })
  if (established.length) {
    const t = performance.now()
    const greeted = (await fleet.next('greeted', { t: 'greet', to: number.wa_id, waIds: established })).ids as string[]
    await until(() => greeted.every((id) => receiver.inbound.has(id)), 'the greetings to reach the webhook', 300_000)
    const warm = new LoadGenerator({ origin: new URL(credentials.api_url).origin, headers: auth, rate: undefined, concurrency: opts.concurrency, durationS: 0, next: (i) => text(established[i]!, i), onAccepted: () => undefined })
    const ids: string[] = []
    for (let i = 0; i < established.length; i += opts.concurrency) {
      ids.push(...await Promise.all(established.slice(i, i + opts.concurrency).map((to, j) => warm.post(text(to, i + j)))))
    }
    await warm.close()
    await until(() => ids.every((id) => receiver.statuses.get('delivered')?.has(id) && atPhone.has(id)), 'the warm-up messages to be delivered', 300_000)
    log(`bench: ${established.length} sessions established in ${((performance.now() - t) / 1000).toFixed(1)} s`)
  }

  // the measured window
  const accepted = new Map<string, { to: string; at: number; latencyMs: number }>()
  const inWindow = (id: string) => accepted.has(id)
  let delivered = 0
  receiver.listeners.push((status, id) => {
    if (status === 'delivered' && inWindow(id)) delivered++
  })
  let recipient = 0
  const load = new LoadGenerator({
    origin: new URL(credentials.api_url).origin, headers: auth, rate: opts.rate, concurrency: opts.concurrency, durationS: opts.durationS,
    next: (i) => {
      const to = phones[recipient++ % phones.length]!
      return fresh.has(to) ? template(to) : text(to, i)
    },
    onAccepted: (id, to, at, latencyMs) => accepted.set(id, { to, at, latencyMs }),
  })
  const before = { wabox: await wabox.usage(), network: await network.usage(), phones: await fleet.usage(), bench: usage() }
  const inboundBefore = receiver.inbound.size
  if (opts.inbound > 0 && established.length) fleet.send({ t: 'inbound', to: number.wa_id, rate: opts.inbound, waIds: established })
  const countAtPhone = () => {
    let n = 0
    for (const id of accepted.keys()) if (atPhone.has(id)) n++
    return n
  }
  const t0 = performance.now()
  let last = { t: t0, accepted: 0, delivered: 0, inbound: inboundBefore }
  const progress = setInterval(() => {
    const now = performance.now()
    const dt = (now - last.t) / 1000
    const inbound = receiver.inbound.size
    log(`[${String(Math.round((now - t0) / 1000)).padStart(3)} s] accepted ${load.accepted} (${Math.round((load.accepted - last.accepted) / dt)}/s)  at phones ${countAtPhone()}  delivered ${delivered} (${Math.round((delivered - last.delivered) / dt)}/s)  in flight ${load.accepted - delivered}  requests open ${load.inFlight}  inbound ${Math.round((inbound - last.inbound) / dt)}/s`)
    last = { t: now, accepted: load.accepted, delivered, inbound }
  }, 1000)
  const result = await load.run()
  const tEnd = t0 + opts.durationS * 1000
  const after = { wabox: await wabox.usage(), network: await network.usage(), phones: await fleet.usage(), bench: usage() }
  if (opts.inbound > 0) await fleet.next('inbound-stopped', { t: 'inbound-stop' })
  await load.close()

  // drain: every accepted message must reach its phone and get its delivered callback; inbound must reach the webhook
  const outstanding = () => {
    let n = 0
    for (const id of accepted.keys()) if (!atPhone.has(id) || !receiver.statuses.get('delivered')?.has(id)) n++
    for (const id of inboundSent) if (!receiver.inbound.has(id)) n++
    return n
  }
  let lastOutstanding = -1
  let lastChange = performance.now()
  while (true) {
    const n = outstanding()
    if (n === 0) break
    if (n !== lastOutstanding) [lastOutstanding, lastChange] = [n, performance.now()]
    if (performance.now() - lastChange > opts.drainTimeoutS * 1000) {
      log(`bench: ${n} still outstanding after ${opts.drainTimeoutS} s without progress; counting them as lost`)
      break
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await new Promise((resolve) => setTimeout(resolve, 1000)) // late duplicates
  clearInterval(progress)
  const drainS = (performance.now() - tEnd) / 1000
  const windowS = (tEnd - t0) / 1000
  await wabox.close()
  await fleet.close()
  await network.close()

  // floor: the same load against one SQLite insert per request
  let floor: { mps: number; p50: number; p99: number; usage: Usage } | undefined
  if (opts.floorDurationS > 0) {
    const floorProc = new Child('floor', 'floor.ts', [path.join(dir, 'floor.db')])
    const { url } = await floorProc.next('ready')
    const latencies: number[] = []
    const f0 = await floorProc.usage()
    const floorLoad = new LoadGenerator({
      origin: String(url), headers: {}, rate: opts.rate, concurrency: opts.concurrency, durationS: opts.floorDurationS,
      next: (i) => text(phones[i % phones.length]!, i), onAccepted: (_id, _to, _at, ms) => latencies.push(ms),
    })
    const r = await floorLoad.run()
    const f1 = await floorProc.usage()
    await floorLoad.close()
    await floorProc.close()
    latencies.sort((a, b) => a - b)
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN
    floor = { mps: r.accepted / opts.floorDurationS, p50: q(0.5), p99: q(0.99), usage: { cpuUs: (f1.cpuUs - f0.cpuUs), maxRssMb: f1.maxRssMb } }
  }

  const results = collectResults({
    opts, result, accepted, atPhone, receiver, inboundSent, inboundBefore, t0, tEnd, windowS, drainS, before, after, floor,
  })
  printResults(results, result.rejected)
  const parts = (after.wabox as Usage & { parts?: Record<string, Usage> }).parts
  const partsBefore = (before.wabox as Usage & { parts?: Record<string, Usage> }).parts
  if (parts) {
    log(`CPU per process over the window: ${Object.entries(parts).map(([name, u]) => `${name} ${((u.cpuUs - (partsBefore?.[name]?.cpuUs ?? 0)) / 1e6 / windowS * 100).toFixed(0)}%`).join(', ')}`)
  }
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(results, null, 2) + '\n')
}

try {
  await main()
} finally {
  for (const cleanup of cleanups) await cleanup().catch((err: unknown) => console.error('bench: cleanup failed:', err))
  fs.rmSync(dir, { recursive: true, force: true })
}
