import { withDefaults, type ApplicationSettings } from '../domain/settings.js'
import type { PhoneNumberRow } from './schema.js'
import type { StoreContext } from './store.js'

export interface NewPhoneNumber {
  id: string
  cc: string
  number: string
  displayName: string
}

export type GatewayStatus = 'connected' | 'connecting' | 'disconnected' | 'unregistered' | 'uninitialized'

export class PhoneNumbers {
  constructor(private readonly ctx: StoreContext) {}

  async create(input: NewPhoneNumber): Promise<PhoneNumberRow> {
    const now = this.ctx.clock.now()
    const row: PhoneNumberRow = {
      id: input.id,
      cc: input.cc,
      number: input.number,
      wa_id: input.cc + input.number,
      display_name: input.displayName,
      status: 'unregistered',
      gateway_status: 'unregistered',
      settings: JSON.stringify({}),
      shard_count: 1,
      cert: null,
      network_secret: null,
      pin_hash: null,
      webhook_secret: null,
      created_at: now,
      updated_at: now,
    }
    await this.ctx.db.insertInto('phone_numbers').values(row).execute()
    return row
  }

  get(id: string): Promise<PhoneNumberRow | undefined> {
    return this.ctx.db.selectFrom('phone_numbers').selectAll().where('id', '=', id).executeTakeFirst()
  }

  getByWaId(waId: string): Promise<PhoneNumberRow | undefined> {
    return this.ctx.db.selectFrom('phone_numbers').selectAll().where('wa_id', '=', waId).executeTakeFirst()
  }

  list(): Promise<PhoneNumberRow[]> {
    return this.ctx.db.selectFrom('phone_numbers').selectAll().orderBy('created_at').execute()
  }

  settings(row: PhoneNumberRow): ApplicationSettings {
    return withDefaults(JSON.parse(row.settings) as Partial<ApplicationSettings>)
  }

  async saveSettings(id: string, settings: Partial<ApplicationSettings>): Promise<void> {
    await this.ctx.db.updateTable('phone_numbers')
      .set({ settings: JSON.stringify(settings), updated_at: this.ctx.clock.now() })
      .where('id', '=', id).execute()
  }

  async setGatewayStatus(id: string, status: GatewayStatus): Promise<void> {
    await this.ctx.db.updateTable('phone_numbers')
      .set({ gateway_status: status, updated_at: this.ctx.clock.now() })
      .where('id', '=', id).execute()
  }

  async update(id: string, fields: Partial<Omit<PhoneNumberRow, 'id' | 'created_at'>>): Promise<void> {
    await this.ctx.db.updateTable('phone_numbers')
      .set({ ...fields, updated_at: this.ctx.clock.now() })
      .where('id', '=', id).execute()
  }
}
