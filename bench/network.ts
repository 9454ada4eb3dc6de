/**
 * The simulated WhatsApp network of `npm run bench`, in its own process (forked with IPC),
 * as it would run on its own machine: phones and wabox reach it over loopback. Reports its
 * URLs once listening, and its CPU and peak RSS on request.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { systemClock } from '../src/clock.js'
import { randomToken } from '../src/ids.js'
import { startNetworkServer } from '../src/network/index.js'
import { usage } from './ipc.js'

const logger = pino({ level: process.env.WABOX_BENCH_LOG ?? 'warn' })
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-bench-network-'))
const controlToken = randomToken()
const network = await startNetworkServer({
  dataDir: dir, host: '127.0.0.1', port: 0, clock: systemClock, profile: 'dev', logger, controlToken,
  // the bench measures wabox, not the network's anti-abuse limits (default 1000 envelopes/s per number, 45 per pair per 6 s)
  // The phones upload 5 one-time pre-keys each (registering 1,000 stays quick) against a
  // default top-up threshold of 10: every new user's first message made its phone top up, a
  // burst of key generation and files that held its inbox back for seconds. A real phone
  // uploads ~100 and tops up below 10, once per ~90 new sessions; below 2 of 5, a bench phone
  // (one new session at most) never does.
  limits: { pairBurst: 1e9, throughputPerSecond: 1e9, preKeysLowThreshold: 2 },
  // like the phones: a killed network loses nothing, a power cut could (it is not what is measured)
  fsync: false,
})
const send = (msg: unknown) => process.send!(msg)

async function close(): Promise<void> {
  await network.close()
  fs.rmSync(dir, { recursive: true, force: true })
}

process.on('message', (raw) => {
  const msg = raw as { t: string }
  if (msg.t === 'usage') send({ t: 'usage', usage: usage() })
  if (msg.t === 'close') {
    void close().then(() => {
      send({ t: 'closed' })
      process.exit(0)
    })
  }
})
process.on('disconnect', () => void close().then(() => process.exit(0)))

send({ t: 'network', wsUrl: network.wsUrl, url: network.url, controlToken })
