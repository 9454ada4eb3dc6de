import type { StoreContext } from './store.js'

export interface ContactIdentity {
  hash: string
  /** When the identity was seen, ms. */
  createdAt: number
  acknowledged: boolean
}

/**
 * Contact identities (`/v1/contacts/{wa_id}/identity`). Window and contact-check methods live
 * with the CoreApp's repository; all share the `contacts` table keyed by (number, wa_id).
 */
export class Contacts {
  constructor(private readonly ctx: StoreContext) {}

  async identity(phoneNumberId: string, waId: string): Promise<ContactIdentity | undefined> {
    const row = await this.ctx.db.selectFrom('contacts')
      .select(['identity_hash', 'identity_at', 'identity_acknowledged'])
      .where('phone_number_id', '=', phoneNumberId).where('wa_id', '=', waId).executeTakeFirst()
    if (!row?.identity_hash) return undefined
    return { hash: row.identity_hash, createdAt: row.identity_at ?? 0, acknowledged: row.identity_acknowledged === 1 }
  }

  /**
   * Records the contact's current identity hash. A changed hash needs acknowledgement when
   * `acknowledged` is false (show_security_notifications on).
   */
  async recordIdentity(phoneNumberId: string, waId: string, hash: string, acknowledged: boolean): Promise<void> {
    const now = this.ctx.clock.now()
    const ack = acknowledged ? 1 : 0
    await this.ctx.engine.upsert(this.ctx.db.insertInto('contacts').values({
      phone_number_id: phoneNumberId,
      wa_id: waId,
      profile_name: null,
      last_inbound_at: null,
      check_status: null,
      checked_at: null,
      identity_hash: hash,
      identity_at: now,
      identity_acknowledged: ack,
    }), ['phone_number_id', 'wa_id'], () => ({
      identity_hash: hash, identity_at: now, identity_acknowledged: ack,
    })).execute()
  }

  /** Acknowledges the identity if `hash` is the current one; false otherwise. */
  async acknowledgeIdentity(phoneNumberId: string, waId: string, hash: string): Promise<boolean> {
    const result = await this.ctx.db.updateTable('contacts').set({ identity_acknowledged: 1 })
      .where('phone_number_id', '=', phoneNumberId).where('wa_id', '=', waId)
      .where('identity_hash', '=', hash).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  /** true when sends to this contact are blocked until its new identity is acknowledged. */
  async identityBlocked(phoneNumberId: string, waId: string): Promise<boolean> {
    const id = await this.identity(phoneNumberId, waId)
    return id !== undefined && !id.acknowledged
  }
}
