import type { AccountUpdateEvent } from '../domain/events.js'
import { qualityUpdateState } from '../domain/messaging-tiers.js'
import type { AccountUpdatePush } from '../wire/frames.js'
import type { EngineContext } from './context.js'
import type { EngineView } from './engine-view.js'
import type { ShardConnection } from './shard-connection.js'

const MAX_ATTEMPTS = 8
/** Update ids remembered as done: a redelivery after a reconnect is acked, not notified twice. */
const REMEMBERED = 1000

/**
 * The one place an `account.update` from the network becomes a callback of its `field`
 * (`message_template_status_update`, `phone_number_quality_update`, ...). Enqueued only for
 * numbers whose webhooks are Cloud-shaped (On-Prem bodies have no place for it), committed,
 * then acked. Redeliveries this process already committed are only acked; after a crash
 * between commit and ack the business may see one twice, as with Meta's at-least-once
 * webhooks. A template change also drops the cached template packs (the WABA's numbers share it).
 */
export class AccountUpdates {
  readonly #done = new Set<string>()
  readonly #running = new Map<string, Promise<void>>()

  constructor(
    private readonly ctx: EngineContext,
    private readonly engine: EngineView,
    /** Read after the settings are refreshed: the number may have moved platforms. */
    private readonly cloudHosted: () => boolean,
  ) {}

  async receive(conn: ShardConnection, update: AccountUpdatePush): Promise<void> {
    const id = update.updateId
    // one at a time per id: a redelivery on a new connection waits for the first
    await this.#running.get(id)?.catch(() => undefined)
    if (this.#done.has(id)) return this.#ack(conn, id)
    const run = this.#record(conn, update)
    this.#running.set(id, run)
    try {
      await run
    } finally {
      if (this.#running.get(id) === run) this.#running.delete(id)
    }
  }

  async #record(conn: ShardConnection, update: AccountUpdatePush, attempt = 1): Promise<void> {
    const { ctx, engine } = this
    try {
      if (update.field.startsWith('message_template_')) ctx.templates.clear()
      const settings = await engine.refreshSettings()
      if (this.cloudHosted() || settings.webhooks.format === 'cloud') {
        const event: AccountUpdateEvent = { type: 'account_update', field: update.field, value: update.value, time: Math.floor(update.timestamp / 1000) }
        await ctx.queue.submit(async (tx, batch) => {
          await engine.fence(tx, batch, conn.shard)
          await tx.callbacks.enqueue(engine.phoneNumberId, event)
          if (update.field === 'phone_number_quality_update') await tx.management.recordQuality(engine.phoneNumberId, qualityUpdateState(update.value))
        })
        ctx.notifyCallbacks()
      }
      this.#remember(update.updateId)
      this.#ack(conn, update.updateId)
    } catch (err) {
      // a connection that was replaced meanwhile is not retried: the new one gets the update again
      const retry = attempt < MAX_ATTEMPTS && engine.connection(conn.shard) === conn
      ctx.logger.warn({ err, updateId: update.updateId, field: update.field, attempt, retry }, 'account update not recorded')
      if (!retry) return
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 200 * 2 ** attempt)).unref())
      if (engine.connection(conn.shard) === conn) await this.#record(conn, update, attempt + 1)
    }
  }

  #remember(id: string): void {
    this.#done.add(id)
    if (this.#done.size > REMEMBERED) this.#done.delete(this.#done.values().next().value!)
  }

  #ack(conn: ShardConnection, id: string): void {
    conn.client.request({ t: 'account.update.ack', updateIds: [id] }).catch(() => undefined)
  }
}
