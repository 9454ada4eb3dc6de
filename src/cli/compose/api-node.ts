import type { Logger } from 'pino'
import type prom from 'prom-client'
import type { Clock } from '../../clock.js'
import type { Config } from '../../config/config.js'
import type { CoreBridge } from '../../domain/bridge.js'
import type { MediaVolume } from '../../media/volume.js'
import type { Store } from '../../store/store.js'
import type { WebAppDeps, WebAppLimits } from '../../webapp/context.js'
import { startWebServer, type WebServer } from '../../webapp/server.js'
import { CallbackVerifier, type WebhookService } from '../../webhooks/index.js'
import { listenStartupError } from '../startup-errors.js'
import type { Teardown } from '../teardown.js'
import { VERSION } from '../version.js'
import { explained } from './steps.js'

export interface ApiNodeOptions {
  config: Config
  store: Store
  clock: Clock
  logger: Logger
  media: MediaVolume
  registry: prom.Registry
  bridge: CoreBridge
  webhooks: WebhookService
  /** Messages were queued for a number: wake the CoreApp that sends them. */
  onMessagesQueued: (phoneNumberId: string) => void
  apiLimits?: Partial<WebAppLimits>
  /** Set in a multi-node deployment: /v1/health lists the CoreApp nodes. */
  cluster?: WebAppDeps['cluster']
  /** The Hub's phones and change notices (`wabox start`; see hub-wiring.ts). */
  hub?: WebAppDeps['hub']
}

/** How the API's flags are named, for a failed listen. */
export function apiListen(config: Config) {
  return { what: 'the API', host: config.host, port: config.port, hostFlag: '--host (WABOX_HOST)', portFlag: '--port (WABOX_PORT)' }
}

/** The WebApp listening on the configured host and port: `wabox webapp`, and `wabox start`'s API. */
export async function startApiNode(opts: ApiNodeOptions, teardown: Teardown): Promise<WebServer> {
  const { config } = opts
  const dev = config.profile === 'dev'
  const web = await explained(() => startWebServer({
    store: opts.store,
    clock: opts.clock,
    bridge: opts.bridge,
    media: opts.media,
    logger: opts.logger.child({ component: 'webapp' }),
    version: VERSION,
    registry: opts.registry,
    dataDir: config.dataDir,
    webhooks: opts.webhooks,
    callbackVerifier: new CallbackVerifier(),
    onMessagesQueued: opts.onMessagesQueued,
    allowInsecureWebhooks: dev,
    host: config.host,
    port: config.port,
    http: config.http,
    ...(opts.apiLimits ? { limits: opts.apiLimits } : {}),
    ...(opts.cluster ? { cluster: opts.cluster } : {}),
    ...(opts.hub ? { hub: opts.hub } : {}),
  }), (err) => listenStartupError(err, apiListen(config)))
  teardown.add('api', () => web.close())
  return web
}
