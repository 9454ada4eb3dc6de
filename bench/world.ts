/**
 * The running world of `npm run bench`: the network, the phones and wabox in their own
 * processes, the webhook receiver in this one, the number configured and the established
 * phones' sessions warmed up. Every mode measures windows on one world (bench/window.ts).
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { request } from 'undici'
import { ensureDist } from './dist.js'
import { Child, usage, type Usage } from './ipc.js'
import { LoadGenerator, type Request } from './load.js'
import { allocatorEnv, type BenchOptions } from './options.js'
import { WebhookReceiver } from './receiver.js'

export const PROCESSES = ['wabox', 'network', 'phones', 'bench'] as const
export type Process = (typeof PROCESSES)[number]
export type Usages = Record<Process, Usage & { parts?: Record<string, Usage> }>

const log = (line: string) => console.log(line)

export async function until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function adminQuery(engine: 'postgres' | 'mysql', url: string, sql: string): Promise<unknown[]> {
  if (engine === 'mysql') {
    const connection = await mysql.createConnection({ uri: url })
    return connection.query(sql).then(([rows]) => rows as unknown[]).finally(() => connection.end())
  }
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  return client.query(sql).then((r) => r.rows as unknown[]).finally(() => client.end())
}

/** PostgreSQL or MySQL/MariaDB: a fresh database for this run, dropped at the end. */
async function freshDatabase(engine: 'postgres' | 'mysql', cleanups: (() => Promise<unknown>)[]): Promise<string> {
  const base = engine === 'postgres'
    ? process.env.WABOX_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
    : process.env.WABOX_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'
  const name = 'wabox_bench_' + randomBytes(6).toString('hex')
  await adminQuery(engine, base, engine === 'mysql' ? `CREATE DATABASE ${name} CHARACTER SET utf8mb4` : `CREATE DATABASE ${name}`)
  cleanups.push(() => adminQuery(engine, base, engine === 'mysql' ? `DROP DATABASE IF EXISTS ${name}` : `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
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

interface Credentials {
  api_url: string
  numbers: { wa_id: string; phone_number_id: string; api_key: string; platform_type?: string }[]
  cloud?: { api_version: string; access_token: string; phone_number_id: string }
}

/** How messages are sent: the On-Prem number's `/v1/messages`, or the Cloud-hosted number's Graph path. */
export interface Sender {
  origin: string
  path: string
  headers: Record<string, string>
  text(to: string, i: number): Request
  /** The approved `hello_world` template: business-initiated, for a phone with no open window. */
  template(to: string): Request
}

function onPremSender(origin: string, apiKey: string, namespace: string): Sender {
  return {
    origin, path: '/v1/messages', headers: { 'D360-API-KEY': apiKey },
    text: (to, i) => ({ to, body: JSON.stringify({ to, type: 'text', text: { body: `bench message ${i}: the quick brown fox jumps over the lazy dog` } }) }),
    template: (to) => ({
      to, body: JSON.stringify({ to, type: 'template', template: { namespace, name: 'hello_world', language: { policy: 'deterministic', code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Bench' }] }] } }),
    }),
  }
}

function cloudSender(origin: string, cloud: NonNullable<Credentials['cloud']>): Sender {
  return {
    origin, path: `/${cloud.api_version}/${cloud.phone_number_id}/messages`, headers: { authorization: `Bearer ${cloud.access_token}` },
    text: (to, i) => ({ to, body: JSON.stringify({ messaging_product: 'whatsapp', to, type: 'text', text: { body: `bench message ${i}: the quick brown fox jumps over the lazy dog` } }) }),
    template: (to) => ({
      to, body: JSON.stringify({ messaging_product: 'whatsapp', to, type: 'template', template: { name: 'hello_world', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Bench' }] }] } }),
    }),
  }
}

/** An admin-scoped API key of a number, from `wabox keys create` against the running instance's store. */
async function adminKey(dataDir: string, databaseUrl: string, phoneNumberId: string): Promise<string> {
  const root = path.join(import.meta.dirname, '..')
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'keys', 'create', '--data-dir', dataDir, '--phone-number-id', phoneNumberId, '--scope', 'admin', '--label', 'bench'],
    { cwd: root, env: { ...process.env, WABOX_DATABASE_URL: databaseUrl } })
  return stdout.trim()
}

export class World {
  readonly receiver: WebhookReceiver
  /** Message id → how many times a phone received it. */
  readonly atPhone = new Map<string, number>()
  /** Inbound message ids the phones sent. */
  readonly inboundSent = new Set<string>()
  readonly cleanups: (() => Promise<unknown>)[] = []
  network!: Child
  fleet!: Child
  wabox!: Child
  sender!: Sender
  /** The business number's wa_id (inbound goes there). */
  waId = ''
  established: string[] = []
  /** Phones with no session; each gets one message. */
  readonly fresh = new Set<string>()
  #freshLeft: string[] = []
  #recipient = 0
  #databaseUrl = ''
  /** wabox's `/metrics` with an admin's credentials: the server's own view of accept latency. */
  #metrics = { url: '', headers: {} as Record<string, string> }

  constructor(readonly opts: BenchOptions, readonly dir: string) {
    this.receiver = new WebhookReceiver(opts.webhookLatencyMs)
  }

  /** Starts everything and warms up the established phones' sessions. */
  async start(): Promise<void> {
    const { opts, receiver } = this
    if (opts.coreapps !== undefined && opts.db !== 'postgres') throw new Error('bench: --coreapps needs --db postgres')
    this.#databaseUrl = opts.db === 'sqlite' ? '' : await freshDatabase(opts.db, this.cleanups)
    const hookUrl = await receiver.listen()
    this.cleanups.unshift(() => receiver.close())

    log(`bench: ${opts.mode}, ${opts.db}, ${opts.format} number, ${opts.phones} phones (${opts.newUserPhones} new users), ${opts.rate === undefined ? 'max rate' : `${opts.rate} msg/s`}, ${opts.mode === 'soak' ? `${opts.soakMinutes} minutes of ${opts.soakMinuteS} s` : `${opts.durationS} s windows`}, ${opts.concurrency} connections, inbound ${opts.inbound}/s, webhook receiver answers after ${opts.webhookLatencyMs} ms, network and phones at nice ${opts.worldNice}, jemalloc in ${opts.jemalloc.join(', ') || 'none'}`)
    ensureDist(log)
    this.network = new Child('network', 'network.ts', [], allocatorEnv(opts, 'network'), opts.worldNice)
    this.cleanups.unshift(() => this.network.close())
    const net = await this.network.next('network')
    this.fleet = new Child('phones', 'phones.ts', [String(net.wsUrl), String(net.url), String(net.controlToken), path.join(this.dir, 'phones')], allocatorEnv(opts, 'phones'), opts.worldNice)
    this.cleanups.unshift(() => this.fleet.close())
    await this.fleet.next('ready')
    const args = [this.dataDir, String(net.wsUrl), String(net.url), String(net.controlToken)]
    this.wabox = opts.coreapps === undefined
      ? new Child('wabox', 'wabox.mjs', args, { WABOX_DATABASE_URL: this.#databaseUrl, ...allocatorEnv(opts, 'wabox') })
      : new Child('wabox', 'cluster.ts', args, { WABOX_DATABASE_URL: this.#databaseUrl, WABOX_BENCH_COREAPPS: String(opts.coreapps), ...allocatorEnv(opts, 'wabox') })
    this.cleanups.unshift(() => this.wabox.close())
    const tSetup = performance.now()
    const [ready, created] = await Promise.all([this.wabox.next('ready'), this.fleet.next('phones', { t: 'phones', count: opts.phones, concurrency: 16 })])
    const phones = created.waIds as string[]
    const credentials = ready.credentials as Credentials
    log(`bench: wabox at ${credentials.api_url}, ${phones.length} phones registered in ${((performance.now() - tSetup) / 1000).toFixed(1)} s`)

    // the number: the On-Prem one, or the Cloud-hosted one with an admin key of its own for its settings
    const number = credentials.numbers.find((n) => (n.platform_type ?? 'ON_PREMISE') === (opts.format === 'cloud' ? 'CLOUD_API' : 'ON_PREMISE'))
    if (!number) throw new Error(`bench: wabox has no ${opts.format} number`)
    this.waId = number.wa_id
    const origin = new URL(credentials.api_url).origin
    // the webhook: the 360dialog call for the URL (waba-v2 for a Cloud-hosted number); the rest are admin settings
    await api(origin, 'POST', '/v1/configs/webhook', { 'D360-API-KEY': number.api_key }, { url: hookUrl })
    let admin: Record<string, string>
    if (opts.format === 'cloud') {
      admin = { authorization: `Apikey ${await adminKey(this.dataDir, this.#databaseUrl, number.phone_number_id)}` }
    } else {
      const login = await request(origin + '/v1/users/login', {
        method: 'POST', body: JSON.stringify({ new_password: 'Bench-Passw0rd!' }),
        headers: { 'content-type': 'application/json', authorization: 'Basic ' + Buffer.from('admin:secret').toString('base64') },
      })
      admin = { authorization: `Bearer ${((await login.body.json()) as { users: { token: string }[] }).users[0]!.token}` }
    }
    this.#metrics = { url: origin + '/metrics?format=prometheus', headers: admin }
    await api(origin, 'PATCH', '/v1/settings/application', admin,
      { sent_status: opts.sentStatus, webhooks: { batch_size: opts.webhookBatch, max_concurrent_requests: opts.webhookConcurrency } })
    if (opts.coreapps !== undefined) {
      // one shard per CoreApp at least, so that each has its part of the number's traffic
      const shards = 2 ** Math.ceil(Math.log2(opts.coreapps))
      await api(origin, 'POST', '/v1/account/shards', admin, { cc: number.wa_id.slice(0, 1), phone_number: number.wa_id.slice(1), shards })
      log(`bench: ${opts.coreapps} CoreApps, ${shards} shards`)
    }
    if (opts.format === 'cloud') this.sender = cloudSender(origin, credentials.cloud!)
    else {
      const templates = await api(String(net.url), 'GET', `/control/accounts/${number.wa_id}/templates`, { authorization: `Bearer ${String(net.controlToken)}` })
      this.sender = onPremSender(origin, number.api_key, String(templates.namespace))
    }

    // phones report what they receive: id → count
    this.fleet.on('received', (m) => {
      for (const id of m.ids as string[]) this.atPhone.set(id, (this.atPhone.get(id) ?? 0) + 1)
    })
    this.fleet.on('inbound-sent', (m) => {
      for (const id of m.ids as string[]) this.inboundSent.add(id)
    })
    this.established = phones.slice(0, phones.length - opts.newUserPhones)
    for (const id of phones.slice(phones.length - opts.newUserPhones)) this.fresh.add(id)
    this.#freshLeft = [...this.fresh].reverse()
    await this.#warmUp()
  }

  get dataDir(): string {
    return path.join(this.dir, 'wabox')
  }

  /** Established users write first (opens the 24 h window) and get one message, delivered, before any window. */
  async #warmUp(): Promise<void> {
    const { established, receiver, sender, opts } = this
    if (!established.length) return
    const t = performance.now()
    const greeted = (await this.fleet.next('greeted', { t: 'greet', to: this.waId, waIds: established })).ids as string[]
    await until(() => greeted.every((id) => receiver.inbound.has(id)), 'the greetings to reach the webhook', 300_000)
    const warm = new LoadGenerator({ origin: sender.origin, path: sender.path, headers: sender.headers, rate: undefined, concurrency: opts.concurrency, durationS: 0, next: (i) => sender.text(established[i]!, i), onAccepted: () => undefined })
    const ids: string[] = []
    for (let i = 0; i < established.length; i += opts.concurrency) {
      ids.push(...await Promise.all(established.slice(i, i + opts.concurrency).map((to, j) => warm.post(sender.text(to, i + j)))))
    }
    await warm.close()
    await until(() => ids.every((id) => receiver.statuses.get('delivered')?.has(id) && this.atPhone.has(id)), 'the warm-up messages to be delivered', 300_000)
    log(`bench: ${established.length} sessions established in ${((performance.now() - t) / 1000).toFixed(1)} s`)
  }

  /**
   * The next message: `--new-users` of them to a phone with no session (each once; when
   * none is left, to an established phone), the others to the established phones in turn.
   */
  next(i: number): Request {
    const share = this.opts.newUsers
    const toNew = Math.floor((i + 1) * share) > Math.floor(i * share)
    const fresh = toNew ? this.#freshLeft.pop() : undefined
    if (fresh) return this.sender.template(fresh)
    if (!this.established.length) throw new Error('bench: no phone left without a session; pass more --phones')
    const to = this.established[this.#recipient++ % this.established.length]!
    return this.sender.text(to, i)
  }

  /** The phones send `--inbound` messages/s to the number until stopInbound(). */
  startInbound(): void {
    if (this.opts.inbound > 0 && this.established.length) this.fleet.send({ t: 'inbound', to: this.waId, rate: this.opts.inbound, waIds: this.established })
  }

  async stopInbound(): Promise<void> {
    if (this.opts.inbound > 0 && this.established.length) await this.fleet.next('inbound-stopped', { t: 'inbound-stop' })
  }

  /** Phones with no session that got their message so far. */
  get freshUsed(): number {
    return this.fresh.size - this.#freshLeft.length
  }

  async usage(): Promise<Usages> {
    const [wabox, network, phones] = await Promise.all([this.wabox.usage(), this.network.usage(), this.fleet.usage()])
    return { wabox, network, phones, bench: usage() }
  }

  /**
   * p99 accept as wabox measured it (`api_send_latency_ms`, a summary over its last 30–60 s):
   * from the request's arrival to its answer, without the load generator's own pauses.
   */
  async serverP99AcceptMs(): Promise<number | null> {
    const res = await request(this.#metrics.url, { headers: this.#metrics.headers })
    const text = await res.body.text()
    if (res.statusCode !== 200) throw new Error(`GET /metrics: HTTP ${res.statusCode} ${text.slice(0, 200)}`)
    const line = /^api_send_latency_ms\{[^}]*quantile="0\.99"[^}]*\} (\S+)$/m.exec(text)
    const value = line ? Number(line[1]) : NaN
    return Number.isFinite(value) ? value : null
  }

  /** SQLite's WAL, part of `dbBytes`; 0 on the other engines. */
  walBytes(): number {
    const wal = path.join(this.dataDir, 'wabox.db-wal')
    return this.opts.db === 'sqlite' && fs.existsSync(wal) ? fs.statSync(wal).size : 0
  }

  /** The database's size: SQLite's file and WAL, PostgreSQL's pg_database_size, MySQL's data and index lengths. */
  async dbBytes(): Promise<number> {
    if (this.opts.db === 'sqlite') {
      return fs.readdirSync(this.dataDir).filter((f) => /^wabox\.db(-wal)?$/.test(f)).reduce((sum, f) => sum + fs.statSync(path.join(this.dataDir, f)).size, 0)
    }
    if (this.opts.db === 'postgres') {
      const rows = await adminQuery('postgres', this.#databaseUrl, 'SELECT pg_database_size(current_database()) AS bytes')
      return Number((rows[0] as { bytes: unknown }).bytes)
    }
    // InnoDB's lengths in information_schema are its statistics, refreshed by ANALYZE TABLE
    const connection = await mysql.createConnection({ uri: this.#databaseUrl })
    try {
      const [tables] = await connection.query('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()')
      const names = (tables as { name: string }[]).map((t) => `\`${t.name}\``)
      if (names.length) await connection.query(`ANALYZE TABLE ${names.join(', ')}`)
      const [rows] = await connection.query('SELECT SUM(data_length + index_length) AS bytes FROM information_schema.tables WHERE table_schema = DATABASE()')
      return Number((rows as { bytes: unknown }[])[0]!.bytes)
    } finally {
      await connection.end()
    }
  }

  /** Stops the processes; the receiver and the database go with close(). */
  async stopProcesses(): Promise<void> {
    await this.wabox.close()
    await this.fleet.close()
    await this.network.close()
  }

  async close(): Promise<void> {
    for (const cleanup of this.cleanups) await cleanup().catch((err: unknown) => console.error('bench: cleanup failed:', err))
  }
}
