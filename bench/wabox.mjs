/**
 * wabox under test, in its own process (forked with IPC): WebApp + CoreApp + webhook
 * dispatcher composed by `startAllInOne`, against the world's external network. Same as
 * `wabox start --http --port 0 --network-url … --network-control-url … --network-control-token …`.
 *
 * Plain JavaScript over dist/, as users run wabox (bench/dist.ts rebuilds dist/ when a source
 * is newer): a TypeScript loader in this process and its engine thread added ~90 MB of RSS.
 *
 * argv: <dataDir> <wsUrl> <controlUrl> <controlToken>; WABOX_DATABASE_URL selects PostgreSQL.
 */
import process from 'node:process'
import { pino } from 'pino'
import { startAllInOne } from '../dist/cli/all-in-one.js'
import { resolveConfig } from '../dist/config/config.js'

const [dataDir, wsUrl, controlUrl, controlToken] = process.argv.slice(2)
const config = resolveConfig({}, {
  dataDir, http: true, port: '0', host: '127.0.0.1', phones: '0', profile: 'dev',
  logLevel: process.env.WABOX_BENCH_LOG ?? 'warn', databaseUrl: process.env.WABOX_DATABASE_URL,
})
const logger = pino({ level: config.logLevel })
const instance = await startAllInOne(config, logger, {
  externalNetwork: { wsUrl, controlUrl, controlToken },
  // On-Prem's 50 sends/s and Cloud's 80/s per number would be all the bench measures
  apiLimits: { messagesPerSecond: 1e9, messagesBurst: 1e9, cloudMessagesPerSecond: 1e9, cloudMessagesBurst: 1e9 },
})

// as bench/ipc.ts's usage(): CPU of all threads, RSS now and at its peak
const usage = () => {
  const cpu = process.cpuUsage()
  return { cpuUs: cpu.user + cpu.system, rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20), maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }
}

process.on('message', (msg) => {
  if (msg.t === 'usage') process.send({ t: 'usage', usage: usage() })
  if (msg.t === 'close') {
    void instance.close().then(() => {
      process.send({ t: 'closed' })
      process.exit(0)
    })
  }
})
process.send({ t: 'ready', credentials: instance.credentials })
