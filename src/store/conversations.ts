import type { ConversationRow } from './coreapp-schema.js'
import type { StoreContext } from './store.js'
import { statementChunks } from './statement-chunks.js'

/** 24-hour conversations of conversation-based pricing, per (number, user, category). */
export class Conversations {
  constructor(private readonly ctx: StoreContext) {}

  /** Conversations still open at `at` with any of `peers`. */
  async open(phoneNumberId: string, peers: string[], at: number): Promise<ConversationRow[]> {
    const out: ConversationRow[] = []
    for (const part of statementChunks([...new Set(peers)], 256)) {
      out.push(...await this.ctx.db.selectFrom('conversations').selectAll()
        .where('phone_number_id', '=', phoneNumberId).where('wa_id', 'in', part).where('expires_at', '>', at).execute())
    }
    return out.sort((a, b) => a.opened_at - b.opened_at)
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
