import { Command, InvalidArgumentError } from 'commander'
import { pino } from 'pino'
import { startNetworkServer } from '../network/server.js'

/** `wabox network`: runs the simulated WhatsApp network alone until SIGINT/SIGTERM. */
export function networkCommand(): Command {
  return new Command('network')
    .description('run the simulated WhatsApp network server (WebSocket relay, blobs, control API)')
    .requiredOption('--data-dir <dir>', 'directory for network.sqlite, blobs and the vname signing key')
    .option('--port <n>', 'TCP port (0 = ephemeral)', parsePort, 7100)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--profile <profile>', "'dev' (relaxed tiers, auto-approved templates) or 'strict'", parseProfile, 'dev' as const)
    .option('--control-token <token>', 'require Authorization: Bearer <token> on /control/ (default: env WABOX_NETWORK_CONTROL_TOKEN)')
    .action(async (opts: { dataDir: string; port: number; host: string; profile: 'dev' | 'strict'; controlToken?: string }) => {
      const logger = pino({ name: 'wabox-network' })
      const server = await startNetworkServer({
        dataDir: opts.dataDir,
        port: opts.port,
        host: opts.host,
        profile: opts.profile,
        controlToken: opts.controlToken ?? process.env.WABOX_NETWORK_CONTROL_TOKEN,
        logger,
      })
      logger.info({ wsUrl: server.wsUrl, control: `${server.url}/control/` }, 'ready')
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          logger.info({ signal }, 'stopping')
          process.off('SIGINT', stop)
          process.off('SIGTERM', stop)
          resolve()
        }
        process.on('SIGINT', stop)
        process.on('SIGTERM', stop)
      })
      await server.close()
    })
}

function parsePort(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('a port is 0..65535')
  return port
}

function parseProfile(value: string): 'dev' | 'strict' {
  if (value !== 'dev' && value !== 'strict') throw new InvalidArgumentError("'dev' or 'strict'")
  return value
}
