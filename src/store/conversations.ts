import type { ConversationRow } from './coreapp-schema.js'
import type { StoreContext } from './store.js'

/** 24-hour conversations of conversation-based pricing, per (number, user, category). */
export class Conversations {
  constructor(private readonly ctx: StoreContext) {}

  /** Conversations still open at `at` with any of `peers`. */
  async open(phoneNumberId: string, peers: string[], at: number): Promise<ConversationRow[]> {
    if (peers.length === 0) return []
    return this.ctx.db.selectFrom('conversations').selectAll()
      .where('phone_number_id', '=', phoneNumberId).where('wa_id', 'in', [...new Set(peers)]).where('expires_at', '>', at)
      .orderBy('opened_at').execute()
  }

  async byIds(ids: string[]): Promise<ConversationRow[]> {
    if (ids.length === 0) return []
    return this.ctx.db.selectFrom('conversations').selectAll().where('id', 'in', [...new Set(ids)]).execute()
  }

  async insert(rows: ConversationRow[]): Promise<void> {
    if (rows.length === 0) return
    await this.ctx.db.insertInto('conversations').values(rows).execute()
  }

  list(phoneNumberId: string): Promise<ConversationRow[]> {
    return this.ctx.db.selectFrom('conversations').selectAll().where('phone_number_id', '=', phoneNumberId).orderBy('opened_at').execute()
  }
}
