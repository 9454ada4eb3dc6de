import { withResolved } from './region-content.js'
import type { StoreContext } from './store.js'
import type { DeliveryStats, HubCallback, HubConversation, HubMessage } from './hub-types.js'
import { statementChunks } from './statement-chunks.js'

export type * from './hub-types.js'

const MAX_ROWS = 200
const PREVIEW_CHARS = 80

function clampLimit(limit: number | undefined, fallback: number): number {
  return Math.min(Math.max(Math.trunc(limit ?? fallback), 1), MAX_ROWS)
}

/** A short line saying what a message carries, for chat lists. */
function preview(type: string, content: unknown): string {
  const c = (content ?? {}) as Record<string, Record<string, unknown> | undefined>
  const text = c.text?.body ?? c[type]?.caption ?? c.interactive?.type ?? c.template?.name
  return typeof text === 'string' ? text.slice(0, PREVIEW_CHARS) : `[${type}]`
}

/**
 * The reads of the Hub (the web console): chats, messages with their statuses, callbacks in any
 * state with their attempts, and a replay that also re-sends callbacks already answered 200.
 */
export class HubQueries {
  constructor(private readonly ctx: StoreContext) {}

  #open(sealed: Uint8Array): unknown {
    try {
      return this.ctx.sealer.openJson<unknown>(sealed)
    } catch {
      return null
    }
  }

  /** The number's chats, most recent first. */
  async conversations(phoneNumberId: string, limit?: number): Promise<HubConversation[]> {
    const { db } = this.ctx
    const heads = await db.selectFrom('messages')
      .select((eb) => ['peer', eb.fn.max('seq').as('last_seq'), eb.fn.countAll<number>().as('n')])
      .where('phone_number_id', '=', phoneNumberId)
      .groupBy('peer').orderBy('last_seq', 'desc').limit(clampLimit(limit, 50)).execute()
    if (heads.length === 0) return []
    const lastRows = await withResolved(this.ctx, await db.selectFrom('messages').select(['seq', 'peer', 'direction', 'type', 'content', 'created_at'])
      .where('seq', 'in', heads.map((h) => Number(h.last_seq))).execute(), 'content')
    const names = await db.selectFrom('contacts').select(['wa_id', 'profile_name'])
      .where('phone_number_id', '=', phoneNumberId).where('wa_id', 'in', heads.map((h) => h.peer)).execute()
    const bySeq = new Map(lastRows.map((r) => [r.seq, r]))
    const nameOf = new Map(names.map((n) => [n.wa_id, n.profile_name]))
    return heads.flatMap((h) => {
      const row = bySeq.get(Number(h.last_seq))
      if (!row) return []
      return [{
        peer: h.peer,
        profileName: nameOf.get(h.peer) ?? null,
        messages: Number(h.n),
        lastAt: row.created_at,
        last: { direction: row.direction, type: row.type, preview: preview(row.type, this.#open(row.content)) },
      }]
    })
  }

  /** The latest messages of one chat, oldest first. */
  async messages(phoneNumberId: string, peer: string, limit?: number): Promise<HubMessage[]> {
    const { db } = this.ctx
    const rows = await withResolved(this.ctx, await db.selectFrom('messages').select(['id', 'direction', 'type', 'content', 'status', 'error', 'created_at'])
      .where('phone_number_id', '=', phoneNumberId).where('peer', '=', peer)
      .orderBy('seq', 'desc').limit(clampLimit(limit, 100)).execute(), 'content')
    const statuses = rows.length === 0 ? [] : await db.selectFrom('message_statuses').select(['message_id', 'status', 'at', 'error'])
      .where('message_id', 'in', rows.map((r) => r.id)).orderBy('at').execute()
    return rows.reverse().map((r) => ({
      id: r.id,
      direction: r.direction,
      type: r.type,
      content: this.#open(r.content),
      status: r.status,
      error: r.error,
      createdAt: r.created_at,
      statuses: statuses.filter((s) => s.message_id === r.id).map((s) => ({ status: s.status, at: s.at, error: s.error })),
    }))
  }

  /** The latest callbacks of a number in every state, newest first; `dead` lists the dead letters only. */
  async callbacks(phoneNumberId: string, opts: { limit?: number; dead?: boolean } = {}): Promise<HubCallback[]> {
    const { db } = this.ctx
    let q = db.selectFrom('callbacks').selectAll().where('phone_number_id', '=', phoneNumberId)
    if (opts.dead) q = q.where('status', '=', 'dead')
    const rows = await withResolved(this.ctx, await q.orderBy('seq', 'desc').limit(clampLimit(opts.limit, 50)).execute(), 'payload')
    const attempts = rows.length === 0 ? [] : await db.selectFrom('callback_attempts')
      .select(['callback_seq', 'at', 'http_status', 'latency_ms', 'error'])
      .where('phone_number_id', '=', phoneNumberId).where('callback_seq', 'in', rows.map((r) => r.seq)).orderBy('seq').execute()
    return rows.map((r) => ({
      seq: r.seq,
      eventType: r.event_type,
      status: r.status,
      attempts: attempts.filter((a) => a.callback_seq === r.seq)
        .map((a) => ({ at: a.at, httpStatus: a.http_status, latencyMs: a.latency_ms, error: a.error })),
      nextAttemptAt: r.next_attempt_at,
      createdAt: r.created_at,
      deliveredAt: r.delivered_at,
      deadAt: r.dead_at,
      event: this.#open(r.payload),
    }))
  }

  /**
   * Queues callbacks of a number again, due now with a fresh retry window: dead ones, those
   * already answered 200 (a receiver that lost data asks for exactly that) and those waiting for
   * their next retry. One a dispatcher is delivering right now is left to it. Returns how many.
   */
  async replay(phoneNumberId: string, seqs: readonly number[]): Promise<number> {
    const now = this.ctx.clock.now()
    let queued = 0
    for (const part of statementChunks([...seqs], 500)) {
      const result = await this.ctx.db.updateTable('callbacks')
        .set({ status: 'pending', attempts: 0, next_attempt_at: now, retry_since: now, dead_at: null, delivered_at: null, claimed_until: null, claimed_by: null })
        .where('phone_number_id', '=', phoneNumberId)
        .where('seq', 'in', part)
        .where((eb) => eb.or([
          eb('status', 'in', ['done', 'dead']),
          eb.and([eb('status', '=', 'pending'), eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)])]),
        ]))
        .executeTakeFirst()
      queued += Number(result.numUpdatedRows)
    }
    return queued
  }

  /** Delivery attempts of a number since `since` and how many were answered 200. */
  async deliveryStats(phoneNumberId: string | undefined, since: number): Promise<DeliveryStats> {
    let q = this.ctx.db.selectFrom('callback_attempts')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>(eb.case().when('http_status', '=', 200).then(1).else(0).end()).as('ok')])
      .where('at', '>=', since)
    if (phoneNumberId !== undefined) q = q.where('phone_number_id', '=', phoneNumberId)
    const row = await q.executeTakeFirstOrThrow()
    return { attempts: Number(row.n), succeeded: Number(row.ok ?? 0) }
  }

  /** Delivered receipts recorded so far (every engine's, from the database): the charts take its rate. */
  async deliveredTotal(): Promise<number> {
    const row = await this.ctx.db.selectFrom('message_statuses').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'delivered').executeTakeFirstOrThrow()
    return Number(row.n)
  }
}
