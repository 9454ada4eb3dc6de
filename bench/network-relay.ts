/**
 * Relay throughput of the network server: `node --import tsx bench/network-relay.ts [seconds]`.
 * The server runs in a child process (its own core); the clients run here. Counts envelopes
 * acked by the server (= stored durably) per second, phones → business and business → phones,
 * and the server's CPU time per envelope (steadier than throughput on a shared machine).
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { startNetworkServer } from '../src/network/server.js'
import { NetworkClient } from '../src/wire/client.js'
import { decodeClientFrame, encodeFrame } from '../src/wire/codec.js'
import type { ClientFrame, EnvelopePush, EnvelopeSend, KeysUpload, RegisterVerifyResult } from '../src/wire/frames.js'

const silent = pino({ level: 'silent' })

if (process.argv[2] === '--server') {
  const server = await startNetworkServer({
    dataDir: process.argv[3]!,
    logger: silent,
    profile: 'dev',
    limits: { throughputPerSecond: 1e9, pairBurst: 1e9 },
  })
  process.send!(server.wsUrl)
  process.on('message', (message) => {
    if (message === 'cpu') return void process.send!(process.cpuUsage())
    void server.close().then(() => process.exit(0))
  })
} else {
  await main(Number(process.argv[2] ?? 5))
}

async function main(seconds: number): Promise<void> {
  codecComparison()
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-bench-'))
  const child = fork(fileURLToPath(import.meta.url), ['--server', dataDir], { execArgv: ['--import', 'tsx', ...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_PROF] : [])] })
  const [wsUrl] = (await once(child, 'message')) as [string]
  try {
    const phones = 20
    const business = await register(wsUrl, '1', '5550000', true)
    const users = await Promise.all(Array.from({ length: phones }, (_, i) => register(wsUrl, '1', `5551${String(i).padStart(3, '0')}`, false)))
    const biz = await login(wsUrl, business)
    const phoneClients = await Promise.all(users.map((u) => login(wsUrl, u)))
    autoAck(biz)
    phoneClients.forEach(autoAck)

    const serverCpu = async (): Promise<number> => {
      child.send('cpu')
      const [usage] = (await once(child, 'message')) as [NodeJS.CpuUsage]
      return usage.user + usage.system
    }
    const cpuAtStart = await serverCpu()
    const inbound = await drive(seconds, phoneClients.map((c) => ({ client: c, to: () => business.waId })))
    const cpuAfterInbound = await serverCpu()
    report('phones → business (20 senders, 1 receiver)', inbound, cpuAfterInbound - cpuAtStart)
    let n = 0
    const outbound = await drive(seconds, [{ client: biz, to: () => users[n++ % phones]!.waId, category: 'utility' as const }], 400)
    report('business → 20 phones (integrity metering on)', outbound, (await serverCpu()) - cpuAfterInbound)
    await Promise.all([biz, ...phoneClients].map((c) => c.close()))
  } finally {
    child.send('close')
    await once(child, 'exit')
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
}

interface Sender {
  client: NetworkClient
  to: () => string
  category?: EnvelopeSend['category']
}

/** Each sender keeps `window` sends in flight for `seconds`; returns acked count and ack latencies. */
async function drive(seconds: number, senders: Sender[], window = 50): Promise<{ acked: number; seconds: number; latencies: number[] }> {
  const latencies: number[] = []
  const start = performance.now()
  const end = start + seconds * 1000
  let acked = 0
  let seq = 0
  const body = randomBytes(200)
  await Promise.all(
    senders.flatMap((s) =>
      Array.from({ length: window }, async () => {
        while (performance.now() < end) {
          const t = performance.now()
          await s.client.request({ t: 'envelope.send', envelopeId: `b${++seq}`, to: s.to(), kind: 'message', body, category: s.category })
          latencies.push(performance.now() - t)
          acked++
        }
      }),
    ),
  )
  return { acked, seconds: (performance.now() - start) / 1000, latencies }
}

/** `serverCpuUs`: the server's CPU time over the run (its acks and the receivers' acks included). */
function report(name: string, r: { acked: number; seconds: number; latencies: number[] }, serverCpuUs: number): void {
  const sorted = r.latencies.sort((a, b) => a - b)
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!.toFixed(1)
  console.log(
    `${name}: ${Math.round(r.acked / r.seconds)} envelopes/s acked (${r.acked} in ${r.seconds.toFixed(1)} s), ack latency p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, server CPU ${Math.round(serverCpuUs / r.acked)} µs/envelope`,
  )
}

/** Acks what arrives, batched per event-loop turn, as a receiver that persisted it would. */
function autoAck(client: NetworkClient): void {
  const pending: string[] = []
  client.on('envelope', (e: EnvelopePush) => {
    if (pending.length === 0) setImmediate(() => void client.request({ t: 'envelope.ack', envelopeIds: pending.splice(0) }).catch(() => {}))
    pending.push(e.envelopeId)
  })
}

async function register(wsUrl: string, cc: string, phone: string, business: boolean): Promise<RegisterVerifyResult> {
  const client = new NetworkClient({ url: wsUrl, reconnect: false, logger: silent })
  await client.connect()
  const control = wsUrl.replace(/^ws/, 'http').replace(/\/ws$/, '/control')
  let cert: Uint8Array | undefined
  if (business) {
    const res = await fetch(`${control}/vname-certificates`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cc, phone, displayName: 'Bench' }) })
    cert = Buffer.from(((await res.json()) as { cert: string }).cert, 'base64')
  }
  await client.request({ t: 'register.request', cc, phone, method: 'sms', cert })
  const { code } = (await (await fetch(`${control}/codes/${cc}/${phone}`)).json()) as { code: string }
  const result = await client.request<RegisterVerifyResult>({ t: 'register.verify', cc, phone, code })
  await client.close()
  return result
}

async function login(wsUrl: string, account: RegisterVerifyResult): Promise<NetworkClient> {
  const client = new NetworkClient({ url: wsUrl, reconnect: false, logger: silent })
  await client.connect()
  await client.login(account.waId, account.password)
  return client
}

/** Encode + decode of frames: msgpack (with validation) vs JSON with base64 for the bytes. */
function codecComparison(): void {
  const envelope = (size: number): EnvelopeSend => ({
    v: 1,
    id: 'Xq3v9a.1234',
    t: 'envelope.send',
    envelopeId: 'wamid.HBgLMTU1NTAxMjM0NTYVAgARGBI5QTNDRDNDNzQ0',
    to: '15550123456',
    kind: 'message',
    body: randomBytes(size),
    category: 'utility',
    businessInitiated: false,
  })
  const time = (rounds: number, fn: () => void) => {
    for (let i = 0; i < rounds / 10; i++) fn()
    const t = performance.now()
    for (let i = 0; i < rounds; i++) fn()
    return ((performance.now() - t) * 1000) / rounds
  }
  const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64')
  const cases: [string, ClientFrame, () => string, (json: string) => void][] = [300, 4096].map((size) => {
    const frame = envelope(size)
    return [
      `envelope.send, ${size}-byte body`,
      frame,
      () => JSON.stringify({ ...frame, body: b64(frame.body) }),
      (json: string) => void Buffer.from((JSON.parse(json) as { body: string }).body, 'base64'),
    ]
  })
  const keys: KeysUpload = {
    v: 1,
    id: 'k',
    t: 'keys.upload',
    registrationId: 1,
    identityKey: randomBytes(33),
    signedPreKey: { id: 1, publicKey: randomBytes(33), signature: randomBytes(64) },
    kyberPreKey: { id: 1, publicKey: randomBytes(1569), signature: randomBytes(64) },
    preKeys: Array.from({ length: 100 }, (_, i) => ({ id: i, publicKey: randomBytes(33) })),
    kyberPreKeys: Array.from({ length: 100 }, (_, i) => ({ id: i, publicKey: randomBytes(1569), signature: randomBytes(64) })),
  }
  const keysJson = () =>
    JSON.stringify({
      ...keys,
      identityKey: b64(keys.identityKey),
      signedPreKey: { ...keys.signedPreKey, publicKey: b64(keys.signedPreKey.publicKey), signature: b64(keys.signedPreKey.signature) },
      kyberPreKey: { ...keys.kyberPreKey, publicKey: b64(keys.kyberPreKey.publicKey), signature: b64(keys.kyberPreKey.signature) },
      preKeys: keys.preKeys.map((k) => ({ id: k.id, publicKey: b64(k.publicKey) })),
      kyberPreKeys: keys.kyberPreKeys.map((k) => ({ id: k.id, publicKey: b64(k.publicKey), signature: b64(k.signature) })),
    })
  const keysParse = (json: string) => {
    const parsed = JSON.parse(json) as KeysUpload & { kyberPreKeys: { publicKey: string; signature: string }[]; preKeys: { publicKey: string }[] }
    for (const k of parsed.preKeys) Buffer.from(k.publicKey, 'base64')
    for (const k of parsed.kyberPreKeys) {
      Buffer.from(k.publicKey, 'base64')
      Buffer.from(k.signature, 'base64')
    }
  }
  cases.push(['keys.upload, 100 EC + 100 Kyber keys', keys, keysJson, keysParse])
  for (const [name, frame, toJson, fromJson] of cases) {
    const rounds = name.startsWith('keys') ? 2000 : 100_000
    const packed = encodeFrame(frame)
    const msgpackUs = time(rounds, () => decodeClientFrame(encodeFrame(frame)))
    const jsonUs = time(rounds, () => fromJson(toJson()))
    console.log(
      `codec ${name}: msgpack ${packed.byteLength} B, ${msgpackUs.toFixed(1)} µs encode+decode+validate; JSON+base64 ${Buffer.byteLength(toJson())} B, ${jsonUs.toFixed(1)} µs encode+decode (no validation)`,
    )
  }
}
