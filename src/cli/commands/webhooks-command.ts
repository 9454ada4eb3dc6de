import { Command } from 'commander'
import prom from 'prom-client'
import { systemClock } from '../../clock.js'
import { Channel } from '../../store/notifications.js'
import { WebhookDispatcher } from '../../webhooks/index.js'
import { nodeIdFrom, requireSharedDatabase } from '../compose/cluster-flags.js'
import { openDeploymentStore } from '../compose/deployment-store.js'
import { startNodeBeat } from '../compose/node-beat.js'
import { serveUntilSignal } from '../compose/steps.js'
import { configFrom, withConfigFlags, type FlagValues } from '../config-flags.js'
import { createLogger } from '../logger.js'
import { Teardown } from '../teardown.js'

/** `wabox webhooks`: the webhook dispatcher alone (`wabox coreapp --webhooks` runs it inside a CoreApp instead). */
export function webhooksCommand(): Command {
  return withConfigFlags(new Command('webhooks')
    .description('run the webhook dispatcher: delivers the callbacks the CoreApps commit, with retries; more than one may run'))
    .option('--profile <profile>', 'dev (http:// webhooks to loopback allowed) or production (WABOX_PROFILE, default dev)')
    .action(async (flags: FlagValues) => {
      const config = configFrom(flags)
      requireSharedDatabase(config, 'webhooks')
      const logger = createLogger(config)
      const teardown = new Teardown()
      await serveUntilSignal(teardown, logger, async () => {
        const { store, notifier } = await openDeploymentStore(config, logger, teardown)
        const beat = await startNodeBeat(store, { id: nodeIdFrom({}), kind: 'webhooks' }, logger)
        teardown.add('node', () => beat.stop())
        const dispatcher = new WebhookDispatcher({ store, clock: systemClock, logger, registry: new prom.Registry(), allowInsecureLoopback: config.profile === 'dev' })
        teardown.add('webhooks', () => dispatcher.stop())
        await notifier.listen(Channel.callbacks, () => dispatcher.wake())
        await notifier.listen(Channel.webhookConfig, () => dispatcher.reloadConfigs())
        dispatcher.start()
        return 'wabox webhooks is running'
      })
    })
}
