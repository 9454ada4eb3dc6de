import { Command } from 'commander'
import Fastify from 'fastify'
import { configFrom, withConfigFlags } from './main.js'
import { createLogger } from './logger.js'
import { openStoreFromConfig } from './open-store.js'
import { VERSION } from './version.js'

export function startCommand(): Command {
  return withConfigFlags(new Command('start').description('run everything in one process: network, phones, API, message engine, webhooks'))
    .option('--port <n>', 'API port (WABOX_PORT, default 9090)')
    .option('--host <host>', 'API host (WABOX_HOST, default 127.0.0.1)')
    .option('--http', 'serve plain HTTP instead of HTTPS (WABOX_HTTP)')
    .action(async (flags: Record<string, string | boolean | undefined>) => {
      const config = configFrom(flags)
      const logger = createLogger(config.logLevel)
      const { database, store } = await openStoreFromConfig(config)
      const app = Fastify({ loggerInstance: logger })
      app.get('/v1/health', async () => {
        const numbers = await store.numbers.list()
        return { health: { gateway_status: numbers[0]?.gateway_status ?? 'unregistered' }, meta: { api_status: 'stable', version: VERSION } }
      })
      await app.listen({ host: config.host, port: config.port })
      onShutdown(async () => {
        await app.close()
        await database.close()
      })
    })
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
