import type { AccountUpdateEvent } from '../domain/events.js'
import { qualityUpdateState } from '../domain/messaging-tiers.js'
import type { AccountUpdatePush } from '../wire/frames.js'
import type { EngineContext } from './context.js'
import type { EngineView } from './engine-view.js'
import type { ShardConnection } from './shard-connection.js'

const MAX_ATTEMPTS = 8

/**
 * The one place an `account.update` from the network becomes a callback of its `field`
 * (`message_template_status_update`, `phone_number_quality_update`, ...). Enqueued only for
 * numbers whose webhooks are Cloud-shaped (On-Prem bodies have no place for it), committed,
 * then acked; a crash in between redelivers it, so the business may see it twice, as with
 * Meta's at-least-once webhooks. A template change also drops the cached template pack.
 */
export async function receiveAccountUpdate(
  ctx: EngineContext,
  engine: EngineView,
  conn: ShardConnection,
  update: AccountUpdatePush,
  cloudHosted: boolean,
  attempt = 1,
): Promise<void> {
  try {
    if (update.field.startsWith('message_template_')) ctx.templates.forget(engine.phoneNumberId)
    const settings = await engine.refreshSettings()
    if (cloudHosted || settings.webhooks.format === 'cloud') {
      const event: AccountUpdateEvent = { type: 'account_update', field: update.field, value: update.value }
      await ctx.queue.submit(async (tx, batch) => {
        await engine.fence(tx, batch, conn.shard)
        await tx.callbacks.enqueue(engine.phoneNumberId, event)
        if (update.field === 'phone_number_quality_update') await tx.management.recordQuality(engine.phoneNumberId, qualityUpdateState(update.value))
      })
      ctx.notifyCallbacks()
    }
    conn.client.request({ t: 'account.update.ack', updateIds: [update.updateId] }).catch(() => undefined)
  } catch (err) {
    const retry = attempt < MAX_ATTEMPTS && engine.connection(conn.shard) === conn
    ctx.logger.warn({ err, updateId: update.updateId, field: update.field, attempt, retry }, 'account update not recorded')
    if (retry) setTimeout(() => void receiveAccountUpdate(ctx, engine, conn, update, cloudHosted, attempt + 1), Math.min(5000, 200 * 2 ** attempt)).unref()
  }
}
