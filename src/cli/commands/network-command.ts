import fs from 'node:fs/promises'
import path from 'node:path'
import { Command, InvalidArgumentError } from 'commander'
import { pino } from 'pino'
import { randomToken } from '../../ids.js'
import { privateDir } from '../../private-files.js'
import { startNetworkNode } from '../compose/network-node.js'
import { serveUntilSignal } from '../compose/steps.js'
import { writeCredentials, type NetworkCredentials } from '../credentials.js'
import { Teardown } from '../teardown.js'

interface NetworkFlags {
  dataDir: string
  port: number
  host: string
  profile: 'dev' | 'production'
  controlToken?: string
  phones: number
}

/** `wabox network`: the simulated WhatsApp network and its phones, alone, until SIGINT/SIGTERM. */
export function networkCommand(): Command {
  return new Command('network')
    .description('run the simulated WhatsApp network server (WebSocket relay, blobs, control API) and its simulated phones')
    .requiredOption('--data-dir <dir>', 'directory for network.sqlite, blobs, the vname signing key, the phones and credentials.json')
    .option('--port <n>', 'TCP port (0 = ephemeral)', parsePort, 7100)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--profile <profile>', "'dev' (relaxed tiers, auto-approved templates) or 'production', as `wabox start` takes it", parseProfile, 'dev' as const)
    .option('--control-token <token>', 'bearer token of /control/ (default: env WABOX_NETWORK_CONTROL_TOKEN, else the one in credentials.json, else a new one)')
    .option('--phones <n>', 'simulated phones to have (created on first start; `wabox phone --data-dir <dir>` drives them)', parseCount, 0)
    .action(async (opts: NetworkFlags) => {
      const logger = pino({ name: 'wabox-network' })
      const teardown = new Teardown()
      await serveUntilSignal(teardown, logger, async () => {
        privateDir(opts.dataDir)
        const earlier = await readEarlier(opts.dataDir)
        const controlToken = opts.controlToken ?? process.env.WABOX_NETWORK_CONTROL_TOKEN ?? earlier?.control_token ?? randomToken()
        const node = await startNetworkNode({
          networkDir: opts.dataDir,
          phonesDir: opts.dataDir,
          host: opts.host,
          port: opts.port,
          profile: opts.profile,
          controlToken,
          logger,
          flags: { what: 'the network', host: '--host', port: '--port' },
        }, teardown)
        const have = node.fleet.list()
        if (have.length < opts.phones) await node.fleet.create(opts.phones - have.length)
        const credentials: NetworkCredentials = {
          network_url: node.wsUrl,
          control_url: node.controlUrl,
          control_token: controlToken,
          phones: node.fleet.list().map((p) => p.waId),
        }
        await writeCredentials(opts.dataDir, credentials)
        logger.info({ wsUrl: node.wsUrl, control: `${node.controlUrl}/control/`, phones: credentials.phones.length }, 'ready')
        return `wabox network is running: ${node.wsUrl}, control ${node.controlUrl}/control/, credentials in ${path.join(opts.dataDir, 'credentials.json')}`
      })
    })
}

async function readEarlier(dataDir: string): Promise<Partial<NetworkCredentials> | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dataDir, 'credentials.json'), 'utf8')) as Partial<NetworkCredentials>
  } catch {
    return undefined
  }
}

function parsePort(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('a port is 0..65535')
  return port
}

function parseCount(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 10_000) throw new InvalidArgumentError('an integer from 0 to 10000')
  return n
}

function parseProfile(value: string): 'dev' | 'production' {
  if (value === 'strict') {
    console.error("wabox: --profile strict is deprecated: say 'production', as `wabox start` does")
    return 'production'
  }
  if (value !== 'dev' && value !== 'production') throw new InvalidArgumentError("'dev' or 'production'")
  return value
}
