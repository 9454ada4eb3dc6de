import { Command, InvalidArgumentError } from 'commander'
import { pino } from 'pino'
import { startNetworkServer } from '../network/server.js'
import { listenStartupError } from './startup-errors.js'

/** `wabox network`: runs the simulated WhatsApp network alone until SIGINT/SIGTERM. */
export function networkCommand(): Command {
  return new Command('network')
    .description('run the simulated WhatsApp network server (WebSocket relay, blobs, control API)')
    .requiredOption('--data-dir <dir>', 'directory for network.sqlite, blobs and the vname signing key')
    .option('--port <n>', 'TCP port (0 = ephemeral)', parsePort, 7100)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--profile <profile>', "'dev' (relaxed tiers, auto-approved templates) or 'production', as `wabox start` takes it", parseProfile, 'dev' as const)
    .option('--control-token <token>', 'require Authorization: Bearer <token> on /control/ (default: env WABOX_NETWORK_CONTROL_TOKEN)')
    .action(async (opts: { dataDir: string; port: number; host: string; profile: 'dev' | 'production'; controlToken?: string }) => {
      const logger = pino({ name: 'wabox-network' })
      const server = await startNetworkServer({
        dataDir: opts.dataDir,
        port: opts.port,
        host: opts.host,
        // the network's own name for its production limits
        profile: opts.profile === 'production' ? 'strict' : 'dev',
        controlToken: opts.controlToken ?? process.env.WABOX_NETWORK_CONTROL_TOKEN,
        logger,
      }).catch((err: unknown) => {
        throw listenStartupError(err, { what: 'the network', host: opts.host, port: opts.port, hostFlag: '--host', portFlag: '--port' })
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

function parseProfile(value: string): 'dev' | 'production' {
  if (value === 'strict') {
    console.error("wabox: --profile strict is deprecated: say 'production', as `wabox start` does")
    return 'production'
  }
  if (value !== 'dev' && value !== 'production') throw new InvalidArgumentError("'dev' or 'production'")
  return value
}
