import path from 'node:path'
import { Command } from 'commander'
import prom from 'prom-client'
import { systemClock } from '../../clock.js'
import type { CoreBridge } from '../../domain/bridge.js'
import { MediaVolume } from '../../media/volume.js'
import { bridgeOver, type BridgeMethod } from '../../rpc/bridge-methods.js'
import { startBridgeServer } from '../../rpc/bridge-server.js'
import { Channel } from '../../store/notifications.js'
import { WebhookDispatcher } from '../../webhooks/index.js'
import { usageError } from '../cli-error.js'
import { RPC_SECRET } from '../compose/cluster.js'
import { clusterTiming, nodeIdFrom, requireSharedDatabase, withClusterFlags } from '../compose/cluster-flags.js'
import { coreNode } from '../compose/coreapp-node.js'
import { openDeploymentStore } from '../compose/deployment-store.js'
import { serveUntilSignal } from '../compose/steps.js'
import { configFrom, withConfigFlags, type FlagValues } from '../config-flags.js'
import { createLogger } from '../logger.js'
import { Teardown } from '../teardown.js'

interface CoreAppFlags extends FlagValues {
  networkUrl?: string
  rpcHost?: string
  rpcPort?: string
  rpcUrl?: string
  webhooks?: boolean
  nodeId?: string
}

/** `wabox coreapp`: one message engine node of a multi-process deployment. */
export function coreappCommand(): Command {
  return withClusterFlags(withConfigFlags(new Command('coreapp')
    .description('run a CoreApp node: holds its share of the numbers\' shards through leases, connects them to the network, answers the WebApps\' internal calls')))
    .requiredOption('--network-url <ws-url>', 'the network (ws://host:port/ws)')
    .option('--rpc-host <host>', 'interface of the internal RPC, reachable by the WebApps (default 127.0.0.1)')
    .option('--rpc-port <n>', 'port of the internal RPC (default 0: any free port)')
    .option('--rpc-url <url>', 'the internal RPC\'s address as WebApps reach it, when not http://<rpc-host>:<port> (NAT, containers)')
    .option('--webhooks', 'also run the webhook dispatcher in this process')
    .action(async (flags: CoreAppFlags & { heartbeatInterval?: number; unhealthyInterval?: number }) => {
      const config = configFrom(flags)
      requireSharedDatabase(config, 'coreapp')
      if (!/^wss?:\/\//.test(flags.networkUrl ?? '')) throw usageError('--network-url must be a ws:// or wss:// URL')
      const timing = clusterTiming(flags)
      const nodeId = nodeIdFrom(flags)
      const logger = createLogger(config).child({ node: nodeId })
      const teardown = new Teardown()
      await serveUntilSignal(teardown, logger, async () => {
        const { store, mediaKey, notifier } = await openDeploymentStore(config, logger, teardown)
        const media = new MediaVolume({ root: path.join(config.dataDir, 'media'), key: mediaKey, store })

        const registry = new prom.Registry()
        prom.collectDefaultMetrics({ register: registry })
        let dispatcher: WebhookDispatcher | undefined
        if (flags.webhooks) {
          dispatcher = new WebhookDispatcher({ store, clock: systemClock, logger, registry, allowInsecureLoopback: config.profile === 'dev' })
          teardown.add('webhooks', () => dispatcher!.stop())
          await notifier.listen(Channel.callbacks, () => dispatcher!.wake())
          await notifier.listen(Channel.webhookConfig, () => dispatcher!.reloadConfigs())
        }
        let rpcUrl: string | null = null
        const node = coreNode({
          store, media, clock: systemClock, logger,
          networkUrl: flags.networkUrl!,
          ownerId: nodeId,
          tuning: { leaseRenewMs: timing.heartbeatMs, leaseTtlMs: timing.unhealthyMs },
          cluster: { rpcUrl: () => rpcUrl },
          onCallback: () => {
            dispatcher?.wake()
            notifier.notify(Channel.callbacks)
          },
        })
        const server = await startBridgeServer({
          bridge: announcing(node.coreapp.bridge, () => notifier.notify(Channel.reconcile)),
          secret: await store.nodes.sharedSecret(RPC_SECRET),
          host: flags.rpcHost ?? '127.0.0.1',
          port: Number(flags.rpcPort ?? 0),
          metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
        })
        teardown.add('rpc', () => server.close())
        rpcUrl = flags.rpcUrl ?? server.url
        await notifier.listen(Channel.outbound, (ids) => ids.forEach((id) => node.coreapp.wake(id)))
        await notifier.listen(Channel.reconcile, () => void node.coreapp.reconcile())
        await node.start()
        teardown.add('coreapp', () => node.stop())
        shardGauge(registry, () => node.coreapp.ownedShards())
        dispatcher?.start()
        return `wabox coreapp ${nodeId} is running: internal RPC ${rpcUrl}, network ${flags.networkUrl}`
      })
    })
}

/** After a registration or a shard change the other CoreApps reconcile at once, not at their next heartbeat. */
function announcing(bridge: CoreBridge, announce: () => void): CoreBridge {
  const announced = new Set<BridgeMethod>(['verify', 'setShards'])
  return bridgeOver(async (method, args) => {
    const value = await (bridge[method] as (...a: unknown[]) => Promise<unknown>).apply(bridge, args)
    if (announced.has(method)) announce()
    return value
  })
}

/** `wabox_coreapp_shards_held{phone_number_id}`: what this node holds now, for alerts on a node that holds nothing or too much. */
function shardGauge(registry: prom.Registry, owned: () => Map<string, number[]>): void {
  new prom.Gauge({
    name: 'wabox_coreapp_shards_held',
    help: 'Shards of each number this CoreApp holds the lease of',
    labelNames: ['phone_number_id'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [id, shards] of owned()) this.set({ phone_number_id: id }, shards.length)
    },
  })
}
