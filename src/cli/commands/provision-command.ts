import { Command, InvalidArgumentError } from 'commander'
import { httpBridge } from '../../rpc/bridge-client.js'
import { usageError } from '../cli-error.js'
import { clusterRouter, RPC_SECRET } from '../compose/cluster.js'
import { clusterTiming, requireSharedDatabase } from '../compose/cluster-flags.js'
import { configFrom, withConfigFlags, type FlagValues } from '../config-flags.js'
import { attachNumber, cloudCredentials, demoWaba } from '../demo-waba.js'
import { openStoreFromConfig } from '../open-store.js'
import { adminLogin, CLOUD_DEMO, httpNetworkControl, ON_PREM_DEMO, provisionNumber, type DemoNumber } from '../provision.js'

type ProvisionFlags = FlagValues & ProvisionOptions
interface ProvisionOptions {
  networkControlUrl?: string
  networkControlToken?: string
  platform: 'on_premise' | 'cloud'
  cc?: string
  phoneNumber?: string
  displayName?: string
  apiUrl?: string
  json?: boolean
  unhealthyInterval?: number
}

/**
 * `wabox provision`: registers a business number on the network through a running CoreApp
 * (the primary master registers, as On-Prem's does) and prints its credentials.
 */
export function provisionCommand(): Command {
  return withConfigFlags(new Command('provision')
    .description('register a business number of a multi-process deployment on the network and print its credentials (needs a running `wabox coreapp`)'))
    .requiredOption('--network-control-url <url>', 'the network\'s http://host:port (control_url of `wabox network`\'s credentials.json)')
    .option('--network-control-token <token>', 'bearer token of the network\'s /control API')
    .option('--platform <platform>', 'on_premise or cloud', parsePlatform, 'on_premise')
    .option('--cc <cc>', 'country calling code (default 1)')
    .option('--phone-number <digits>', 'the number without the country code (default: the demo number of the platform)')
    .option('--display-name <name>', 'the verified name')
    .option('--api-url <url>', 'where the WebApps are reached, for the Cloud credentials (default http://127.0.0.1:9090)')
    .option('--unhealthy-interval <s>', 'seconds without a heartbeat before a CoreApp counts as gone', Number)
    .option('--json', 'print the credentials as JSON only')
    .action(async (flags: ProvisionFlags) => {
      const config = configFrom(flags)
      requireSharedDatabase(config, 'provision')
      const { unhealthyMs } = clusterTiming(flags)
      const base = flags.platform === 'cloud' ? CLOUD_DEMO : ON_PREM_DEMO
      const demo: DemoNumber = {
        cc: flags.cc ?? base.cc,
        number: flags.phoneNumber ?? base.number,
        displayName: flags.displayName ?? base.displayName,
        platformType: base.platformType,
      }
      if (!/^\d{1,3}$/.test(demo.cc) || !/^\d{4,14}$/.test(demo.number)) throw usageError('--cc is 1 to 3 digits, --phone-number 4 to 14 digits')
      const { database, store } = await openStoreFromConfig(config)
      const bridge = httpBridge({ route: clusterRouter(store, unhealthyMs), secret: () => store.nodes.sharedSecret(RPC_SECRET) })
      try {
        if ((await store.nodes.live('coreapp', unhealthyMs)).length === 0) {
          throw usageError('no CoreApp is running on this database: start `wabox coreapp` first (the primary master registers numbers)')
        }
        const network = httpNetworkControl(flags.networkControlUrl!, flags.networkControlToken)
        const input = { store, network, bridge, existing: undefined, controlUrl: flags.networkControlUrl! }
        const waba = flags.platform === 'cloud' ? await demoWaba(store, (await store.numbers.getByWaId(demo.cc + demo.number))?.id ?? '') : undefined
        const { fresh: _fresh, ...number } = await provisionNumber(input, demo, waba?.wabaId ?? null)
        if (waba) await attachNumber(store, number.phone_number_id, waba.wabaId, demo.platformType)
        const out = {
          ...number,
          admin: await adminLogin(store),
          ...(waba ? { cloud: await cloudCredentials(store, waba, number.phone_number_id, flags.apiUrl ?? 'http://127.0.0.1:9090', undefined) } : {}),
        }
        console.log(flags.json ? JSON.stringify(out) : JSON.stringify(out, null, 2))
      } finally {
        await bridge.close()
        await database.close()
      }
    })
}

function parsePlatform(value: string): 'on_premise' | 'cloud' {
  if (value !== 'on_premise' && value !== 'cloud') throw new InvalidArgumentError('on_premise or cloud')
  return value
}
