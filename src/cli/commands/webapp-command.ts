import path from 'node:path'
import { Command, InvalidArgumentError } from 'commander'
import prom from 'prom-client'
import { systemClock } from '../../clock.js'
import { MediaVolume } from '../../media/volume.js'
import { httpBridge } from '../../rpc/bridge-client.js'
import { Channel } from '../../store/notifications.js'
import { WebhookService } from '../../webhooks/index.js'
import { startApiNode } from '../compose/api-node.js'
import { clusterRouter, RPC_SECRET } from '../compose/cluster.js'
import { clusterTiming, nodeIdFrom, requireSharedDatabase, withClusterFlags } from '../compose/cluster-flags.js'
import { openDeploymentStore } from '../compose/deployment-store.js'
import { startNodeBeat } from '../compose/node-beat.js'
import { serveUntilSignal } from '../compose/steps.js'
import { configFrom, withConfigFlags, type FlagValues } from '../config-flags.js'
import { createLogger } from '../logger.js'
import { Teardown } from '../teardown.js'

/** `wabox webapp`: a stateless API node; run as many as you like behind a load balancer. */
export function webappCommand(): Command {
  return withClusterFlags(withConfigFlags(new Command('webapp')
    .description('run a WebApp node: the On-Premises, Cloud and 360dialog APIs over the deployment\'s database; synchronous calls go to the CoreApp that owns the number')))
    .option('--port <n>', 'API port (WABOX_PORT, default 9090; 0 = any free port)')
    .option('--host <host>', 'API host (WABOX_HOST, default 127.0.0.1)')
    .option('--http', 'serve plain HTTP instead of HTTPS (WABOX_HTTP)')
    .option('--profile <profile>', 'dev or production (WABOX_PROFILE, default dev)')
    .option('--messages-per-second <n>', 'sends accepted per second and number, bursts to three times that (default 50, as On-Premises)', positive)
    .action(async (flags: FlagValues & { nodeId?: string; heartbeatInterval?: number; unhealthyInterval?: number; messagesPerSecond?: number }) => {
      const config = configFrom(flags)
      requireSharedDatabase(config, 'webapp')
      const { heartbeatMs, unhealthyMs } = clusterTiming(flags)
      const nodeId = nodeIdFrom(flags)
      const logger = createLogger(config).child({ node: nodeId })
      const teardown = new Teardown()
      await serveUntilSignal(teardown, logger, async () => {
        const { store, mediaKey, notifier } = await openDeploymentStore(config, logger, teardown)
        const beat = await startNodeBeat(store, { id: nodeId, kind: 'webapp' }, logger, heartbeatMs)
        teardown.add('node', () => beat.stop())
        const bridge = httpBridge({ route: clusterRouter(store, unhealthyMs), secret: () => store.nodes.sharedSecret(RPC_SECRET) })
        teardown.add('rpc', () => bridge.close())
        const web = await startApiNode({
          config, store, clock: systemClock, logger, bridge,
          media: new MediaVolume({ root: path.join(config.dataDir, 'media'), key: mediaKey, store }),
          registry: new prom.Registry(),
          webhooks: new WebhookService({ store, wake: () => notifier.notify(Channel.callbacks), reload: () => notifier.notify(Channel.webhookConfig) }),
          onMessagesQueued: (id) => notifier.notify(Channel.outbound, id),
          cluster: { unhealthyMs },
          ...(flags.messagesPerSecond ? { apiLimits: { messagesPerSecond: flags.messagesPerSecond, messagesBurst: 3 * flags.messagesPerSecond } } : {}),
        }, teardown)
        return `wabox webapp ${nodeId} is running: API ${web.url}`
      })
    })
}

function positive(value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a number above 0')
  return n
}
