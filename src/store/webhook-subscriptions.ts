import type { AppSubscription, WebhookEndpoint, WebhookRoutes } from '../domain/webhook-target.js'
import type { StoreContext } from './store.js'

/** What the dispatcher reads of a number's Cloud webhook routing, still sealed (one query for all numbers). */
export interface SealedRoutes {
  phoneOverride: Buffer | null
  wabaOverride: Buffer | null
  appSubscription: Buffer | null
  appFields: string | null
}

/**
 * Cloud webhook subscriptions at Meta's three levels: the app's (`POST /{app_id}/subscriptions`),
 * a WABA override (`POST /{waba_id}/subscribed_apps`) and a phone-number override
 * (`POST /{phone_number_id}` `webhook_configuration`). URLs and verify tokens are sealed
 * together; the app's field list is public. The GET handshake happens before these are called:
 * what is stored here was accepted.
 */
export class WebhookSubscriptions {
  constructor(private readonly ctx: StoreContext) {}

  /** Sets (or with null removes) the app's subscription. False for an unknown app. */
  async setApp(appId: string, subscription: AppSubscription | null): Promise<boolean> {
    const result = await this.ctx.db.updateTable('apps').set({
      subscription: subscription && this.#seal(subscription),
      subscription_fields: subscription && JSON.stringify([...new Set(subscription.fields)]),
    }).where('id', '=', appId).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async getApp(appId: string): Promise<AppSubscription | undefined> {
    const row = await this.ctx.db.selectFrom('apps').select(['subscription', 'subscription_fields']).where('id', '=', appId).executeTakeFirst()
    return (row && this.openApp(row.subscription, row.subscription_fields)) ?? undefined
  }

  /** Sets (or with null removes) a WABA's override. False for an unknown WABA. */
  async setWaba(wabaId: string, override: WebhookEndpoint | null): Promise<boolean> {
    const result = await this.ctx.db.updateTable('wabas').set({ webhook_override: override && this.#seal(override) })
      .where('id', '=', wabaId).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async getWaba(wabaId: string): Promise<WebhookEndpoint | undefined> {
    const row = await this.ctx.db.selectFrom('wabas').select('webhook_override').where('id', '=', wabaId).executeTakeFirst()
    return (row && this.openEndpoint(row.webhook_override)) ?? undefined
  }

  /** Sets (or with null removes) a phone number's override. False for an unknown number. */
  async setPhone(phoneNumberId: string, override: WebhookEndpoint | null): Promise<boolean> {
    const result = await this.ctx.db.updateTable('phone_numbers')
      .set({ webhook_override: override && this.#seal(override), updated_at: this.ctx.clock.now() })
      .where('id', '=', phoneNumberId).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async getPhone(phoneNumberId: string): Promise<WebhookEndpoint | undefined> {
    const row = await this.ctx.db.selectFrom('phone_numbers').select('webhook_override').where('id', '=', phoneNumberId).executeTakeFirst()
    return (row && this.openEndpoint(row.webhook_override)) ?? undefined
  }

  /** Every level that can route the number's notifications (the app of its WABA), for `resolveWebhookTarget`. */
  async routesFor(phoneNumberId: string, numberSetting: string | null): Promise<WebhookRoutes | undefined> {
    const row = await this.ctx.db.selectFrom('phone_numbers')
      .leftJoin('wabas', 'wabas.id', 'phone_numbers.waba_id')
      .leftJoin('apps', 'apps.id', 'wabas.app_id')
      .select(['phone_numbers.webhook_override as phoneOverride', 'wabas.webhook_override as wabaOverride', 'apps.subscription as appSubscription', 'apps.subscription_fields as appFields'])
      .where('phone_numbers.id', '=', phoneNumberId)
      .executeTakeFirst()
    return row && this.openRoutes(row, numberSetting)
  }

  /** Unseals what `Callbacks.deliveryConfigs` read. */
  openRoutes(sealed: SealedRoutes, numberSetting: string | null): WebhookRoutes {
    return {
      app: this.openApp(sealed.appSubscription, sealed.appFields),
      waba: this.openEndpoint(sealed.wabaOverride),
      phone: this.openEndpoint(sealed.phoneOverride),
      numberSetting,
    }
  }

  openEndpoint(sealed: Uint8Array | null): WebhookEndpoint | null {
    return sealed ? this.ctx.sealer.openJson<WebhookEndpoint>(sealed) : null
  }

  openApp(sealed: Uint8Array | null, fields: string | null): AppSubscription | null {
    const endpoint = this.openEndpoint(sealed)
    return endpoint && { ...endpoint, fields: JSON.parse(fields ?? '[]') as string[] }
  }

  #seal(endpoint: WebhookEndpoint): Buffer {
    return this.ctx.sealer.sealJson({ url: endpoint.url, verifyToken: endpoint.verifyToken })
  }
}
