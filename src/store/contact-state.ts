import { sql } from 'kysely'
import type { StoreContext } from './store.js'

export interface ContactStateRow {
  waId: string
  profileName: string | null
  lastInboundAt: number | null
  identityHash: string | null
  identityAt: number | null
  identityAcknowledged: boolean
  /** The user's business-scoped user id towards this number, once the network named it. */
  userId: string | null
}

export interface InboundContact {
  waId: string
  profileName: string | null
  at: number
  userId?: string | null
}

/** What the CoreApp knows about each user of a number: profile, window, identity, user id. */
export class ContactState {
  constructor(private readonly ctx: StoreContext) {}

  async get(phoneNumberId: string, waIds: string[]): Promise<Map<string, ContactStateRow>> {
    const out = new Map<string, ContactStateRow>()
    const unique = [...new Set(waIds)]
    for (let i = 0; i < unique.length; i += 300) {
      const rows = await this.ctx.db.selectFrom('contacts')
        .select(['wa_id', 'profile_name', 'last_inbound_at', 'identity_hash', 'identity_at', 'identity_acknowledged', 'user_id'])
        .where('phone_number_id', '=', phoneNumberId).where('wa_id', 'in', unique.slice(i, i + 300)).execute()
      for (const r of rows) {
        out.set(r.wa_id, {
          waId: r.wa_id, profileName: r.profile_name, lastInboundAt: r.last_inbound_at,
          identityHash: r.identity_hash, identityAt: r.identity_at, identityAcknowledged: r.identity_acknowledged === 1, userId: r.user_id,
        })
      }
    }
    return out
  }

  /** Records inbound activity: profile name, user id and the start of the customer-service window. */
  async touchInbound(phoneNumberId: string, entries: InboundContact[]): Promise<void> {
    // one row per user: a multi-row upsert may not touch the same row twice (PostgreSQL)
    const latest = new Map<string, InboundContact>()
    for (const e of entries) {
      const prev = latest.get(e.waId)
      const newer = prev && prev.at > e.at ? prev : e
      latest.set(e.waId, { ...newer, profileName: newer.profileName ?? prev?.profileName ?? e.profileName, userId: newer.userId ?? prev?.userId ?? e.userId })
    }
    const rows = [...latest.values()]
    for (let i = 0; i < rows.length; i += 300) {
      await this.ctx.engine.upsert(this.ctx.db.insertInto('contacts').values(rows.slice(i, i + 300).map((e) => ({
        phone_number_id: phoneNumberId, wa_id: e.waId, profile_name: e.profileName, last_inbound_at: e.at, identity_acknowledged: 1, user_id: e.userId ?? null,
      }))), ['phone_number_id', 'wa_id'], (incoming) => ({
        profile_name: sql`coalesce(${incoming('profile_name')}, contacts.profile_name)`,
        last_inbound_at: sql`case when contacts.last_inbound_at is null or ${incoming('last_inbound_at')} > contacts.last_inbound_at then ${incoming('last_inbound_at')} else contacts.last_inbound_at end`,
        user_id: sql`coalesce(${incoming('user_id')}, contacts.user_id)`,
      })).execute()
    }
  }

  /** The user whose business-scoped user id towards this number is `userId`, if the network named it before. */
  async byUserId(phoneNumberId: string, userId: string): Promise<string | undefined> {
    const row = await this.ctx.db.selectFrom('contacts').select('wa_id')
      .where('phone_number_id', '=', phoneNumberId).where('user_id', '=', userId).executeTakeFirst()
    return row?.wa_id
  }

  /** Keeps what the network said a user id resolves to, so the next send to it needs no round trip. */
  async recordUserId(phoneNumberId: string, waId: string, userId: string): Promise<void> {
    await this.ctx.engine.upsert(this.ctx.db.insertInto('contacts').values({ phone_number_id: phoneNumberId, wa_id: waId, identity_acknowledged: 1, user_id: userId }),
      ['phone_number_id', 'wa_id'], () => ({ user_id: userId })).execute()
  }
}
