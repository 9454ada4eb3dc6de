import os from 'node:os'
import path from 'node:path'
import type { Logger } from 'pino'
import prom from 'prom-client'
import { systemClock, type Clock } from '../clock.js'
import type { Config } from '../config/config.js'
import { MediaVolume } from '../media/volume.js'
import type { NetworkServer } from '../network/index.js'
import type { PhoneFleet } from '../phones/index.js'
import { SqliteGate } from '../sqlite.js'
import type { WebAppLimits } from '../webapp/context.js'
import { WebhookDispatcher, WebhookService } from '../webhooks/index.js'
import { apiListen, startApiNode } from './compose/api-node.js'
import { builtInNetworkDir, startNetworkNode } from './compose/network-node.js'
import { startNodeBeat } from './compose/node-beat.js'
import { canListen, explained } from './compose/steps.js'
import { EngineThread } from './engine-host.js'
import { controlHubPhones, controlTemplateReview, HubWiring } from './hub-wiring.js'
import { CliError, errorLine } from './cli-error.js'
import { openStoreFromConfig } from './open-store.js'
import { httpNetworkControl, provision, type Credentials } from './provision.js'
import { listenStartupError, provisionStartupError, storeStartupError } from './startup-errors.js'
import { Teardown } from './teardown.js'

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
 * CoreApp and housekeeping on a thread of their own), everything under one data directory. Provisions the demo numbers (one On-Prem, one Cloud-hosted) and phones on first start.
 * A step that fails closes what the steps before it started, so the process can exit; the
 * error it throws is a CliError naming the cause and the fix.
 */
export async function startAllInOne(config: Config, logger: Logger, opts: AllInOneOptions = {}): Promise<AllInOne> {
  const teardown = new Teardown()
  try {
    return await compose(config, logger, opts, teardown)
  } catch (err) {
    await teardown.abort((part, closeErr) => logger.warn({ err: closeErr, part }, 'closing after a failed start failed'))
    throw err
  }
}

async function compose(config: Config, logger: Logger, opts: AllInOneOptions, teardown: Teardown): Promise<AllInOne> {
  const clock = opts.clock ?? systemClock
  // the store first: the commonest mistakes (database, key, data directory) fail before anything listens
  const { controlToken, existing } = await explained(() => provision.prepare(config.dataDir), (err) => storeStartupError(err, config))
  // API and engine threads take turns on the SQLite file
  const gate = new SqliteGate()
  const { database, store, mediaKey } = await openStoreFromConfig(config, clock, { gate })
  teardown.add('database', () => database.close())
  const ownerId = `${os.hostname()}:${process.pid}`
  const beat = await startNodeBeat(store, { id: `${ownerId}/api`, kind: 'all-in-one' }, logger)
  teardown.add('node', () => beat.stop())
  // a taken port or a wrong --host fails now, not after the network and the engine started
  await explained(() => canListen(config.host, config.port), (err) => listenStartupError(err, apiListen(config)))

  const external = opts.externalNetwork
  const outside = external
    ? { network: undefined, fleet: undefined, wsUrl: external.wsUrl, controlUrl: external.controlUrl, controlToken: external.controlToken ?? '', control: httpNetworkControl(external.controlUrl, external.controlToken) }
    : { ...await startNetworkNode({
      networkDir: builtInNetworkDir(config.dataDir),
      phonesDir: config.dataDir,
      host: '127.0.0.1',
      port: config.networkPort,
      profile: config.profile,
      controlToken,
      clock,
      logger,
      flags: { what: 'the built-in network', host: '--network-url', port: '--network-port (WABOX_NETWORK_PORT)' },
    }, teardown), controlToken }
  const { network, fleet } = outside

  const media = new MediaVolume({ root: path.join(config.dataDir, 'media'), key: mediaKey, store })
  const registry = new prom.Registry()
  const dev = config.profile === 'dev'
  // the Hub hears of each callback the engine queues, each attempt to deliver one and each send the API accepts
  const hub = new HubWiring()
  const dispatcher = new WebhookDispatcher({
    store, clock, logger: logger.child({ component: 'webhooks' }), registry, allowInsecureLoopback: dev,
    onRecorded: hub.callbacksChanged,
  })
  teardown.add('webhooks', () => dispatcher.stop())
  const webhooks = new WebhookService({ store, wake: () => dispatcher.wake(), reload: () => dispatcher.reloadConfigs() })
  // API and engine on separate threads: a request never waits behind the engine's work
  const engine = await explained(() => EngineThread.start({
    config,
    gate,
    networkUrl: outside.wsUrl,
    ownerId,
    ...(opts.housekeepingIntervalMs === undefined ? {} : { housekeepingIntervalMs: opts.housekeepingIntervalMs }),
    onCallback: () => {
      dispatcher.wake()
      hub.messagesChanged()
    },
    onCrash: (err) => {
      logger.fatal({ err }, 'the message engine stopped; exiting')
      process.exit(1)
    },
  }), (err) => new CliError(`the message engine could not start: ${errorLine(err)}`, 1, { cause: err }))
  teardown.add('engine', () => engine.close())
  dispatcher.start()
  const web = await startApiNode({
    config, store, clock, logger, media, registry, webhooks,
    bridge: engine.bridge,
    onMessagesQueued: (id) => {
      engine.wake(id)
      hub.messagesChanged()
    },
    hub: hub.deps({
      fleet,
      ...(external ? { remotePhones: controlHubPhones(outside.controlUrl, outside.controlToken) } : {}),
      wakeDispatcher: () => dispatcher.wake(),
      // in the dev profile the Hub plays Meta's template review too
      ...(dev ? { templateReview: controlTemplateReview(outside.controlUrl, outside.controlToken) } : {}),
    }),
    ...(opts.apiLimits ? { apiLimits: opts.apiLimits } : {}),
  }, teardown)

  const credentials = await explained(() => provision.run({
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
  }), (err) => provisionStartupError(err, external !== undefined))
  // the phones provisioning made: the Hub hears of their messages and sees their envelopes from now on
  hub.watchPhones()

  // in reverse order of start: API, engine thread (housekeeping, CoreApp), webhooks, phones, network, database
  return { credentials, network, fleet, close: () => teardown.close() }
}
