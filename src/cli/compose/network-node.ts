import path from 'node:path'
import type { Logger } from 'pino'
import type { Clock } from '../../clock.js'
import { startNetworkServer, type NetworkServer } from '../../network/index.js'
import { phoneControlRoutes, PhoneFleet } from '../../phones/index.js'
import { builtInNetworkControl, type NetworkControl } from '../provision.js'
import { listenStartupError } from '../startup-errors.js'
import type { Teardown } from '../teardown.js'
import { explained } from './steps.js'

export interface NetworkNodeOptions {
  /** The network's own files (network.sqlite, blobs, vname key). */
  networkDir: string
  /** The phones live in `<phonesDir>/phones`. */
  phonesDir: string
  host: string
  port: number
  /** dev: relaxed tiers, auto-approved templates; production: the network's strict limits. */
  profile: 'dev' | 'production'
  controlToken: string | undefined
  clock?: Clock
  logger: Logger
  /** How the flags that chose host and port are named, for a failed listen. */
  flags: { what: string; host: string; port: string }
}

export interface NetworkNode {
  network: NetworkServer
  fleet: PhoneFleet
  wsUrl: string
  controlUrl: string
  control: NetworkControl
}

/**
 * The simulated WhatsApp network with its phone fleet and the fleet's /control routes:
 * `wabox network` runs it alone, `wabox start` next to everything else.
 */
export async function startNetworkNode(opts: NetworkNodeOptions, teardown: Teardown): Promise<NetworkNode> {
  const dev = opts.profile === 'dev'
  // The phone routes must be registered before the network listens; the fleet needs its URL.
  const phones: { fleet?: PhoneFleet } = {}
  const network = await explained(() => startNetworkServer({
    dataDir: opts.networkDir,
    host: opts.host,
    port: opts.port,
    profile: dev ? 'dev' : 'strict',
    controlToken: opts.controlToken,
    ...(opts.clock ? { clock: opts.clock } : {}),
    logger: opts.logger.child({ component: 'network' }),
    register: async (app) => {
      await app.register(phoneControlRoutes, {
        fleet: () => {
          if (!phones.fleet) throw new Error('the phones are still starting')
          return phones.fleet
        },
      })
    },
  }), (err) => listenStartupError(err, { what: opts.flags.what, host: opts.host, port: opts.port, hostFlag: opts.flags.host, portFlag: opts.flags.port }))
  teardown.add('network', () => network.close())
  const fleet = await PhoneFleet.open({
    dataDir: opts.phonesDir,
    networkUrl: network.wsUrl,
    codeSource: (cc, phone) => network.lastCode(cc, phone),
    ...(opts.clock ? { clock: opts.clock } : {}),
    logger: opts.logger.child({ component: 'phones' }),
    autoReadDelayMs: dev ? 1000 : 3000,
  })
  teardown.add('phones', () => fleet.close())
  phones.fleet = fleet
  return { network, fleet, wsUrl: network.wsUrl, controlUrl: network.url, control: builtInNetworkControl(network, opts.controlToken ?? '') }
}

/** The network's data directory inside `wabox start`'s. */
export function builtInNetworkDir(dataDir: string): string {
  return path.join(dataDir, 'network')
}
