/**
 * The other side of bench/coreapp-send.ts, in its own process: the network server and M
 * simulated phones. Prints `{"wsUrl", "url"}` once listening; on a line `hello <business wa_id>`
 * on stdin every phone writes to the business once (sessions + open windows), then prints `ready`.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { pino } from 'pino'
import { systemClock } from '../src/clock.js'
import { startNetworkServer } from '../src/network/index.js'
import { Phone } from '../src/phones/phone.js'

const M = Number(process.argv[2] ?? 20)
const logger = pino({ level: process.env.WABOX_BENCH_LOG ?? 'warn' })
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-bench-peer-'))
const network = await startNetworkServer({
  dataDir: path.join(dir, 'network'), port: 0, clock: systemClock, profile: 'dev', logger,
  limits: { pairBurst: 1e9, throughputPerSecond: 1e9 },
})
const phones: Phone[] = []
for (let i = 0; i < M; i++) {
  const phone = await Phone.start({
    dir: path.join(dir, 'phones', String(i)), networkUrl: network.wsUrl, logger, fsync: false, preKeys: 5,
    register: { cc: '1', phone: `5553${String(i).padStart(4, '0')}`, codeSource: (cc, p) => network.lastCode(cc, p) },
  })
  await phone.setBehaviour({ autoReadDelayMs: null })
  phones.push(phone)
}
console.log(JSON.stringify({ wsUrl: network.wsUrl, url: network.url, phones: phones.map((p) => p.waId) }))

const shutdown = async () => {
  for (const p of phones) await p.close()
  await network.close()
  fs.rmSync(dir, { recursive: true, force: true })
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown())
for await (const line of readline.createInterface({ input: process.stdin })) {
  const [cmd, arg] = line.trim().split(' ')
  if (cmd === 'hello' && arg) {
    for (const phone of phones) await phone.send({ to: arg, type: 'text', text: 'hi' })
    console.log('ready')
  }
}
await shutdown()
