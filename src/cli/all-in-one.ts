import os from 'node:os'
import path from 'node:path'
import type { Logger } from 'pino'
import prom from 'prom-client'
import { systemClock, type Clock } from '../clock.js'
import type { Config } from '../config/config.js'
import { deriveMediaKey } from '../media/sealed-stream.js'
import { MediaVolume } from '../media/volume.js'
import { startNetworkServer, type NetworkServer } from '../network/index.js'
import { phoneControlRoutes, PhoneFleet } from '../phones/index.js'
import { SqliteGate } from '../sqlite.js'
import type { WebAppLimits } from '../webapp/context.js'
import { startWebServer } from '../webapp/server.js'
import { WebhookDispatcher, WebhookService } from '../webhooks/index.js'
import { EngineThread } from './engine-host.js'
import { openStoreFromConfig } from './open-store.js'
import { builtInNetworkControl, httpNetworkControl, provision, type Credentials } from './provision.js'
import { VERSION } from './version.js'

/** A network run elsewhere (`wabox network`, a benchmark's world process) instead of the built-in one. */
export interface ExternalNetwork {
  /** `ws://host:port/ws` */
  wsUrl: string
  /** `http://host:port`, where `/control/...` is served. */
  controlUrl: string
  controlToken?: string
}

export interface AllInOneOptions {
  /** The API's and the network's clock; the engine thread runs on the system clock. */
  clock?: Clock
  /** Default: the built-in network and phone fleet in this process. */
  externalNetwork?: ExternalNetwork
  /** API rate limits; default On-Prem's 50 sends/s per number (bursts to 150). Load tests raise them. */
  apiLimits?: Partial<WebAppLimits>
  /** Time between housekeeping passes (expired tokens and media, old inbound messages); default 5 minutes. */
  housekeepingIntervalMs?: number
}

export interface AllInOne {
  credentials: Credentials
  /** Absent with an external network. */
  network: NetworkServer | undefined
  /** Absent with an external network: its phones live with it. */
  fleet: PhoneFleet | undefined
  /** Stops in reverse order of start: API, engine thread (housekeeping, CoreApp), webhooks, phones, network, database. */
  close(): Promise<void>
}

/**
 * `wabox start`: network, phones, WebApp, CoreApp and webhook dispatcher in one process (the
 * CoreApp and housekeeping on a thread of their own), everything under one data directory. Provisions a demo number and phones on first start.
 */
export async function startAllInOne(config: Config, logger: Logger, opts: AllInOneOptions = {}): Promise<AllInOne> {
  const clock = opts.clock ?? systemClock
  const { controlToken, existing } = await provision.prepare(config.dataDir)
  const external = opts.externalNetwork
  const outside = external
    ? { network: undefined, fleet: undefined, wsUrl: external.wsUrl, controlUrl: external.controlUrl, controlToken: external.controlToken ?? '', control: httpNetworkControl(external.controlUrl, external.controlToken) }
    : await startBuiltInNetwork(config, logger, clock, controlToken)
  const { network, fleet } = outside

  // API and engine threads take turns on the SQLite file
  const gate = new SqliteGate()
  const { database, store, atRestKey } = await openStoreFromConfig(config, clock, { gate })
  const media = new MediaVolume({ root: path.join(config.dataDir, 'media'), key: deriveMediaKey(atRestKey), store })
  const registry = new prom.Registry()
  const dev = config.profile === 'dev'
  const dispatcher = new WebhookDispatcher({ store, clock, logger: logger.child({ component: 'webhooks' }), registry, allowInsecureLoopback: dev })
  const webhooks = new WebhookService({ store, wake: () => dispatcher.wake() })
  // API and engine on separate threads: a request never waits behind the engine's work
  const engine = await EngineThread.start({
    config,
    gate,
    networkUrl: outside.wsUrl,
    ownerId: `${os.hostname()}:${process.pid}`,
    ...(opts.housekeepingIntervalMs === undefined ? {} : { housekeepingIntervalMs: opts.housekeepingIntervalMs }),
    onCallback: () => dispatcher.wake(),
    onCrash: (err) => {
      logger.fatal({ err }, 'the message engine stopped; exiting')
      process.exit(1)
    },
  })
  dispatcher.start()
  const web = await startWebServer({
    store,
    clock,
    bridge: engine.bridge,
    media,
    logger: logger.child({ component: 'webapp' }),
    version: VERSION,
    registry,
    dataDir: config.dataDir,
    statsProvider: (id) => webhooks.stats(id),
    webhooks,
    onMessagesQueued: (id) => engine.wake(id),
    allowInsecureWebhooks: dev,
    host: config.host,
    port: config.port,
    http: config.http,
    ...(opts.apiLimits ? { limits: opts.apiLimits } : {}),
  })

  const credentials = await provision.run({
    dataDir: config.dataDir,
    apiUrl: web.url,
    controlUrl: outside.controlUrl,
    controlToken: outside.controlToken,
    existing,
    store,
    network: outside.control,
    bridge: engine.bridge,
    fleet,
    phones: config.phones,
  })

  return {
    credentials,
    network,
    fleet,
    close: async () => {
      await web.close()
      await engine.close()
      await dispatcher.stop()
      await fleet?.close()
      await network?.close()
      await database.close()
    },
  }
}

async function startBuiltInNetwork(config: Config, logger: Logger, clock: Clock, controlToken: string) {
  const dev = config.profile === 'dev'

  // The phone routes must be registered before the network listens; the fleet needs its URL.
  const phones: { fleet?: PhoneFleet } = {}
  const network = await startNetworkServer({
    dataDir: path.join(config.dataDir, 'network'),
    host: '127.0.0.1',
    port: config.networkPort,
    profile: dev ? 'dev' : 'strict',
    controlToken,
    clock,
    logger: logger.child({ component: 'network' }),
    register: async (app) => {
      await app.register(phoneControlRoutes, {
        fleet: () => {
          if (!phones.fleet) throw new Error('the phones are still starting')
          return phones.fleet
        },
      })
    },
  })
  const fleet = await PhoneFleet.open({
    dataDir: config.dataDir,
    networkUrl: network.wsUrl,
    codeSource: (cc, phone) => network.lastCode(cc, phone),
    clock,
    logger: logger.child({ component: 'phones' }),
    autoReadDelayMs: dev ? 1000 : 3000,
  })
  phones.fleet = fleet
  return { network, fleet, wsUrl: network.wsUrl, controlUrl: network.url, controlToken, control: builtInNetworkControl(network, controlToken) }
}
