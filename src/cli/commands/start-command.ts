import { Command } from 'commander'
import { startAllInOne, type ExternalNetwork } from '../all-in-one.js'
import { usageError } from '../cli-error.js'
import { createLogger } from '../logger.js'
import type { Credentials } from '../credentials.js'
import { configFrom, withConfigFlags } from '../config-flags.js'

export function startCommand(): Command {
  return withConfigFlags(new Command('start').description('run everything in one process: network, phones, API, message engine, webhooks'))
    .option('--port <n>', 'API port (WABOX_PORT, default 9090; 0 = any free port)')
    .option('--host <host>', 'API host (WABOX_HOST, default 127.0.0.1)')
    .option('--http', 'serve plain HTTP instead of HTTPS (WABOX_HTTP)')
    .option('--phones <n>', 'simulated phones created on first start (WABOX_PHONES, default 5)')
    .option('--network-port <n>', 'port of the built-in network (WABOX_NETWORK_PORT, default any)')
    .option('--profile <profile>', 'dev or production (WABOX_PROFILE, default dev)')
    .option('--network-url <ws-url>', 'use an external network (ws://host:port/ws) instead of the built-in one and its phones')
    .option('--network-control-url <url>', 'with --network-url: the network\'s http://host:port for /control (default: derived from --network-url)')
    .option('--network-control-token <token>', 'with --network-url: bearer token of the network\'s /control API')
    .action(async (flags: Record<string, string | boolean | undefined>) => {
      const config = configFrom(flags)
      const logger = createLogger(config)
      const instance = await startAllInOne(config, logger, { externalNetwork: externalNetworkFrom(flags) })
      onShutdown(() => instance.close())
      // for the person at the terminal: stderr, so stdout stays log lines a collector can parse
      console.error(banner(instance.credentials, config.dataDir))
    })
}

/** How to reach the instance, and a curl per dialect that sends a message to a simulated phone. */
export function banner(credentials: Credentials, dataDir: string): string {
  const number = credentials.numbers[0]
  const { cloud } = credentials
  const phone = credentials.phones[0]
  const insecure = credentials.api_url.startsWith('https') ? ' -k' : ''
  return [
    '',
    `wabox is running: API ${credentials.api_url}, data in ${dataDir}`,
    `credentials: ${dataDir}/credentials.json`,
    `Hub (web console): ${credentials.api_url}/hub/ - sign in as ${credentials.admin.username}${credentials.admin.password_changed
      ? ''
      : ` with password ${credentials.admin.password ?? ''} (you choose a new one at the first sign-in)`}`,
    ...(number && phone
      ? [
          '',
          'Send a message to a simulated phone, On-Premises API:',
          `  curl${insecure} -X POST ${credentials.api_url}/v1/messages -H 'D360-API-KEY: ${number.api_key}' -H 'Content-Type: application/json' \\`,
          `    -d '{"to":"${phone}","type":"text","text":{"body":"Hello from wabox"}}'`,
          '',
          'Cloud API:',
          `  curl${insecure} -X POST ${cloud.base_url}/${cloud.api_version}/${cloud.phone_number_id}/messages -H 'Authorization: Bearer ${cloud.access_token}' -H 'Content-Type: application/json' \\`,
          `    -d '{"messaging_product":"whatsapp","to":"${phone}","type":"text","text":{"body":"Hello from wabox"}}'`,
          '',
          'See what the phone received:',
          `  npx wabox phone inbox --data-dir ${dataDir} --wa-id ${phone}`,
        ]
      : []),
    '',
  ].join('\n')
}

function externalNetworkFrom(flags: Record<string, string | boolean | undefined>): ExternalNetwork | undefined {
  const wsUrl = flags.networkUrl
  if (typeof wsUrl !== 'string') {
    if (flags.networkControlUrl !== undefined || flags.networkControlToken !== undefined) {
      throw usageError('--network-control-url and --network-control-token need --network-url')
    }
    return undefined
  }
  if (!/^wss?:\/\//.test(wsUrl)) throw usageError('--network-url must be a ws:// or wss:// URL')
  const controlUrl = typeof flags.networkControlUrl === 'string' ? flags.networkControlUrl : new URL(wsUrl.replace(/^ws/, 'http')).origin
  const token = flags.networkControlToken
  return { wsUrl, controlUrl, ...(typeof token === 'string' ? { controlToken: token } : {}) }
}

/** Runs `stop` once on SIGINT/SIGTERM: in-flight work finishes, then the process exits. */
export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`wabox: shutdown after ${signal} failed:`, err)
        process.exit(1)
      },
    )
  }
  process.once('SIGINT', handler)
  process.once('SIGTERM', handler)
}
