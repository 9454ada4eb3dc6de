/**
 * wabox under test, in its own process (forked with IPC): WebApp + CoreApp + webhook
 * dispatcher composed by `startAllInOne`, against the world's external network. Same as
 * `wabox start --http --port 0 --network-url … --network-control-url … --network-control-token …`.
 *
 * argv: <dataDir> <wsUrl> <controlUrl> <controlToken>; WABOX_DATABASE_URL selects PostgreSQL.
 */
import { pino } from 'pino'
import { startAllInOne } from '../src/cli/all-in-one.js'
import { resolveConfig } from '../src/config/config.js'
import { usage } from './ipc.js'

const [dataDir, wsUrl, controlUrl, controlToken] = process.argv.slice(2) as [string, string, string, string]
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

process.on('message', (raw) => {
  const msg = raw as { t: string }
  if (msg.t === 'usage') process.send!({ t: 'usage', usage: usage() })
  if (msg.t === 'close') {
    void instance.close().then(() => {
      process.send!({ t: 'closed' })
      process.exit(0)
    })
  }
})
process.send!({ t: 'ready', credentials: instance.credentials })
