import type { WabaRow } from './cloud-schema.js'
import { graphId } from './graph-ids.js'
import type { StoreContext } from './store.js'

export interface WabaInfo {
  id: string
  name: string
  /** The app whose subscription and secret serve the WABA's webhooks; null when none. */
  appId: string | null
  /** The data-residency region its numbers' content is kept in; null: the home store. */
  dataLocalizationRegion: string | null
  createdAt: number
}

export interface NewWaba {
  /** A numeric id; one is generated when absent. */
  id?: string
  name: string
  appId?: string | null
}

/** WhatsApp Business Accounts: what access tokens reach (all their numbers) and webhooks are grouped by. */
export class Wabas {
  constructor(private readonly ctx: StoreContext) {}

  async create(input: NewWaba): Promise<WabaInfo> {
    const id = input.id ?? graphId()
    if (!/^[0-9]{1,32}$/.test(id)) throw new Error(`A WABA id is a numeric string; got '${id}'`)
    const createdAt = this.ctx.clock.now()
    const appId = input.appId ?? null
    await this.ctx.db.insertInto('wabas').values({ id, name: input.name, app_id: appId, webhook_override: null, created_at: createdAt }).execute()
    return { id, name: input.name, appId, dataLocalizationRegion: null, createdAt }
  }

  async get(id: string): Promise<WabaInfo | undefined> {
    const row = await this.ctx.db.selectFrom('wabas').selectAll().where('id', '=', id).executeTakeFirst()
    return row && toInfo(row)
  }

  async list(): Promise<WabaInfo[]> {
    const rows = await this.ctx.db.selectFrom('wabas').selectAll().orderBy('created_at').orderBy('id').execute()
    return rows.map(toInfo)
  }

  /** Sets the WABA's data-residency region (its content then moves: services/partner-region.ts). */
  async setRegion(wabaId: string, region: string): Promise<void> {
    await this.ctx.db.updateTable('wabas').set({ data_localization_region: region }).where('id', '=', wabaId).execute()
    // this process writes there at once; the others once their cache expires (REGION_SETTLE_MS)
    this.ctx.regions?.forget()
  }

  /** Sets the WABA's data-residency region only while it has none; false when it had one (or is unknown). */
  async claimRegion(wabaId: string, region: string): Promise<boolean> {
    const result = await this.ctx.db.updateTable('wabas').set({ data_localization_region: region })
      .where('id', '=', wabaId).where('data_localization_region', 'is', null).executeTakeFirst()
    this.ctx.regions?.forget()
    return Number(result.numUpdatedRows) > 0
  }

  /** Whether any number of the WABA has a message or a callback stored (content a region change would have to move). */
  async hasContent(wabaId: string): Promise<boolean> {
    const numbers = this.ctx.db.selectFrom('phone_numbers').select('id').where('waba_id', '=', wabaId)
    const message = await this.ctx.db.selectFrom('messages').select('id').where('phone_number_id', 'in', numbers).limit(1).executeTakeFirst()
    const callback = message ?? await this.ctx.db.selectFrom('callbacks').select('seq').where('phone_number_id', 'in', numbers).limit(1).executeTakeFirst()
    return callback !== undefined
  }

  /** Subscribes `appId` to the WABA (its webhooks are then the app's), or with null none. False for an unknown WABA. */
  async setApp(wabaId: string, appId: string | null): Promise<boolean> {
    const result = await this.ctx.db.updateTable('wabas').set({ app_id: appId }).where('id', '=', wabaId).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }
}

function toInfo(row: WabaRow): WabaInfo {
  return { id: row.id, name: row.name, appId: row.app_id, dataLocalizationRegion: row.data_localization_region, createdAt: row.created_at }
}
