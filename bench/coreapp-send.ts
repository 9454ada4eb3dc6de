/**
 * Single-process CoreApp send rate: N queued text messages to M phones that already have
 * sessions with the business, timed from the moment they are queued until every one is
 * `delivered` (phone receipt recorded). The CoreApp runs alone in this process; the network
 * and the phones run in a second one (bench/coreapp-send-peer.ts).
 *
 *   node --import tsx bench/coreapp-send.ts [N=5000] [M=20]
 *   WABOX_BENCH_DATABASE_URL=postgres://… node --import tsx bench/coreapp-send.ts
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import readline from 'node:readline'
import pg from 'pg'
import { pino } from 'pino'
import { request } from 'undici'
import { systemClock } from '../src/clock.js'
import { coreNode } from '../src/cli/compose/coreapp-node.js'
import { messageId } from '../src/ids.js'
import { MediaVolume } from '../src/media/volume.js'
import { openDatabase } from '../src/store/database.js'
import { migrate } from '../src/store/migrate.js'
import type { OutboundMessage } from '../src/store/messages.js'
import { Sealer } from '../src/store/sealer.js'
import { Store } from '../src/store/store.js'
import { shardOf } from '../src/domain/shard.js'

const N = Number(process.argv[2] ?? 5000)
const M = Number(process.argv[3] ?? 20)
const pgUrl = process.env.WABOX_BENCH_DATABASE_URL
const logger = pino({ level: process.env.WABOX_BENCH_LOG ?? 'warn' })
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-bench-'))
const clock = systemClock

async function main(): Promise<void> {
  // network and phones live in their own process: the measured process is the CoreApp alone
  const peer = spawn(process.execPath, [...(process.env.WABOX_BENCH_PEER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', path.join(import.meta.dirname, 'coreapp-send-peer.ts'), String(M)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = readline.createInterface({ input: peer.stdout! })[Symbol.asyncIterator]()
  const nextLine = async () => String((await lines.next()).value ?? '')
  const info = JSON.parse(await nextLine()) as { wsUrl: string; url: string; phones: string[] }

  let schema: string | undefined
  if (pgUrl) {
    schema = 'bench_' + randomBytes(6).toString('hex')
    const admin = new pg.Client({ connectionString: pgUrl })
    await admin.connect()
    await admin.query(`CREATE SCHEMA ${schema}`)
    await admin.end()
  }
  const database = pgUrl ? openDatabase({ url: pgUrl, schema, poolSize: 10 }) : openDatabase({ sqlitePath: path.join(dir, 'wabox.db') })
  await migrate(database)
  const store = Store.open(database, new Sealer(randomBytes(32)), clock)
  const media = new MediaVolume({ root: path.join(dir, 'media'), key: randomBytes(32), store })
  await store.numbers.create({ id: 'bench', cc: '1', number: '5550100', displayName: 'Bench' })
  // the CoreApp as every process runs it (src/cli/compose)
  const node = coreNode({ store, clock, logger, networkUrl: info.wsUrl, media, ownerId: 'bench', onCallback: () => undefined })
  const app = node.coreapp
  await node.start()
  const control = async (method: string, url: string, body?: unknown) => {
    const res = await request(info.url + url, { method: method as 'GET', headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) })
    return (await res.body.json()) as Record<string, string>
  }
  const { cert } = await control('POST', '/control/vname-certificates', { cc: '1', phone: '5550100', displayName: 'Bench' })
  await app.bridge.requestCode('bench', { cc: '1', phoneNumber: '5550100', method: 'sms', cert: cert! })
  await app.bridge.verify('bench', (await control('GET', '/control/codes/1/5550100')).code!)

  // sessions both ways and open windows: every phone writes first, the business answers once
  peer.stdin!.write('hello 15550100\n')
  if ((await nextLine()) !== 'ready') throw new Error('peer did not get ready')
  await until(async () => (await countInbound(store)) >= M, 'inbound')
  await queue(store, info.phones)
  await until(async () => (await countDelivered(store)) >= M, 'warm-up delivery')

  const recipients = Array.from({ length: N }, (_, i) => info.phones[i % M]!)
  const base = await countDelivered(store)
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  await queue(store, recipients)
  app.wake()
  const tQueued = performance.now()
  await until(async () => (await countDelivered(store)) - base >= N, 'delivery', 600_000, 200)
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  console.log(JSON.stringify({
    database: pgUrl ? 'postgres' : 'sqlite', messages: N, phones: M,
    queueMs: Math.round(tQueued - t0), seconds: Number(seconds.toFixed(2)), deliveredPerSecond: Math.round(N / seconds),
    // CPU the CoreApp process spent per message (user + system): its own ceiling on one core
    coreappCpuMsPerMessage: Number(((cpu.user + cpu.system) / 1000 / N).toFixed(3)),
  }))

  await node.stop()
  await database.close()
  peer.kill('SIGTERM')
  await new Promise((resolve) => peer.once('exit', resolve))
  if (pgUrl && schema) {
    const admin = new pg.Client({ connectionString: pgUrl })
    await admin.connect()
    await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    await admin.end()
  }
  fs.rmSync(dir, { recursive: true, force: true })
}

async function queue(store: Store, recipients: string[]): Promise<void> {
  for (let i = 0; i < recipients.length; i += 500) {
    const batch: OutboundMessage[] = recipients.slice(i, i + 500).map((to, j) => ({
      id: messageId(), phoneNumberId: 'bench', to, type: 'text', content: { to, type: 'text', text: { body: `message ${i + j}: the quick brown fox` } }, shard: shardOf(to, 1),
    }))
    await store.messages.insertOutbound(batch)
  }
}

async function countDelivered(store: Store): Promise<number> {
  const row = await store.ctx.db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n'))
    .where('direction', '=', 'out').where('status', 'in', ['delivered', 'read']).executeTakeFirstOrThrow()
  return Number(row.n)
}

async function countInbound(store: Store): Promise<number> {
  const row = await store.ctx.db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).where('direction', '=', 'in').executeTakeFirstOrThrow()
  return Number(row.n)
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000, everyMs = 25): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

await main()
