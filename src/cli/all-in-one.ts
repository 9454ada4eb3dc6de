import os from 'node:os'
import path from 'node:path'
import type { Logger } from 'pino'
import prom from 'prom-client'
import { systemClock, type Clock } from '../clock.js'
import type { Config } from '../config/config.js'
import { CoreApp } from '../coreapp/index.js'
import { deriveMediaKey } from '../media/sealed-stream.js'
import { MediaVolume } from '../media/volume.js'
import { startNetworkServer, type NetworkServer } from '../network/index.js'
import { phoneControlRoutes, PhoneFleet } from '../phones/index.js'
import { startWebServer } from '../webapp/server.js'
import { WebhookDispatcher, WebhookService } from '../webhooks/index.js'
import { openStoreFromConfig } from './open-store.js'
import { provision, type Credentials } from './provision.js'
import { VERSION } from './version.js'

export interface AllInOne {
  credentials: Credentials
  network: NetworkServer
  fleet: PhoneFleet
  /** Stops in reverse order of start: API, engine, webhooks, phones, network, database. */
  close(): Promise<void>
}

/**
 * `wabox start`: network, phones, WebApp, CoreApp and webhook dispatcher in one process,
 * everything under one data directory. Provisions a demo number and phones on first start.
 */
export async function startAllInOne(config: Config, logger: Logger, clock: Clock = systemClock): Promise<AllInOne> {
  const dev = config.profile === 'dev'
  const { controlToken, existing } = await provision.prepare(config.dataDir)

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

  const { database, store, atRestKey } = await openStoreFromConfig(config, clock)
  const media = new MediaVolume({ root: path.join(config.dataDir, 'media'), key: deriveMediaKey(atRestKey), store })
  const registry = new prom.Registry()
  const dispatcher = new WebhookDispatcher({ store, clock, logger: logger.child({ component: 'webhooks' }), registry, allowInsecureLoopback: dev })
  const webhooks = new WebhookService({ store, wake: () => dispatcher.wake() })
  const coreapp = new CoreApp({
    store,
    clock,
    logger,
    networkUrl: network.wsUrl,
    media,
    ownerId: `${os.hostname()}:${process.pid}`,
    onCallback: () => dispatcher.wake(),
  })
  await coreapp.start()
  dispatcher.start()
  const web = await startWebServer({
    store,
    clock,
    bridge: coreapp.bridge,
    media,
    logger: logger.child({ component: 'webapp' }),
    version: VERSION,
    registry,
    dataDir: config.dataDir,
    statsProvider: (id) => webhooks.stats(id),
    webhooks,
    onMessagesQueued: (id) => coreapp.wake(id),
    allowInsecureWebhooks: dev,
    host: config.host,
    port: config.port,
    http: config.http,
  })

  const credentials = await provision.run({
    dataDir: config.dataDir,
    apiUrl: web.url,
    controlUrl: network.url,
    controlToken,
    existing,
    store,
    network,
    bridge: coreapp.bridge,
    fleet,
    phones: config.phones,
  })

  return {
    credentials,
    network,
    fleet,
    close: async () => {
      await web.close()
      await coreapp.stop()
      await dispatcher.stop()
      await fleet.close()
      await network.close()
      await database.close()
    },
  }
}
