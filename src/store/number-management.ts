import type { NumberManagementTable } from './number-management-schema.js'
import type { StoreContext } from './store.js'

export interface NumberManagementState {
  deregisteredAt: number | null
  qualityRating: string | null
  messagingLimitTier: string | null
  migratedAt: number | null
}

const NONE: NumberManagementState = { deregisteredAt: null, qualityRating: null, messagingLimitTier: null, migratedAt: null }

type Fields = Partial<Omit<NumberManagementTable, 'phone_number_id' | 'updated_at'>>

/** A number's Cloud management state (migration 0009): deregistration, reported quality and tier, migration. */
export class NumberManagement {
  constructor(private readonly ctx: StoreContext) {}

  async get(phoneNumberId: string): Promise<NumberManagementState> {
    const row = await this.ctx.db.selectFrom('number_management').selectAll().where('phone_number_id', '=', phoneNumberId).executeTakeFirst()
    if (!row) return NONE
    return { deregisteredAt: row.deregistered_at, qualityRating: row.quality_rating, messagingLimitTier: row.messaging_limit_tier, migratedAt: row.migrated_at }
  }

  async setDeregistered(phoneNumberId: string, deregistered: boolean): Promise<void> {
    await this.#upsert(phoneNumberId, { deregistered_at: deregistered ? this.ctx.clock.now() : null })
  }

  /** What a `phone_number_quality_update` from the network said; absent fields stay. */
  async recordQuality(phoneNumberId: string, update: { qualityRating?: string; messagingLimitTier?: string }): Promise<void> {
    await this.#upsert(phoneNumberId, {
      ...(update.qualityRating !== undefined ? { quality_rating: update.qualityRating } : {}),
      ...(update.messagingLimitTier !== undefined ? { messaging_limit_tier: update.messagingLimitTier } : {}),
    })
  }

  async markMigrated(phoneNumberId: string, at: number): Promise<void> {
    await this.#upsert(phoneNumberId, { migrated_at: at, deregistered_at: null })
  }

  async #upsert(phoneNumberId: string, fields: Fields): Promise<void> {
    const now = this.ctx.clock.now()
    const insert = this.ctx.db.insertInto('number_management')
      .values({ phone_number_id: phoneNumberId, deregistered_at: null, quality_rating: null, messaging_limit_tier: null, migrated_at: null, ...fields, updated_at: now })
    await this.ctx.engine.upsert(insert, ['phone_number_id'], () => ({ ...fields, updated_at: now })).execute()
  }
}
