import { sql } from 'kysely'
import { groupBy } from '../collections.js'
import { insertCompiled, insertsInOneStatement, runCompiled } from './compiled-statements.js'
import { withResolved } from './region-content.js'
import { statementChunks } from './statement-chunks.js'
import type { StoreContext } from './store.js'

/** A queued outbound message as the CoreApp claims it, with its ciphertext if already encrypted. */
export interface QueuedMessage {
  seq: number
  id: string
  phoneNumberId: string
  peer: string
  type: string
  /** Sealed On-Prem request body; open with `store.messages.content`-style `openContent`. */
  content: Buffer
  shard: number
  category: string | null
  expiresAt: number | null
  createdAt: number
  envelope: StoredEnvelope | null
}

export interface StoredEnvelope {
  kind: 'prekey' | 'message'
  body: Uint8Array
  category: string | null
  businessInitiated: boolean
}

export interface NewEnvelope extends StoredEnvelope {
  messageId: string
  phoneNumberId: string
  peer: string
}

export type OutboundStatus = 'sent' | 'delivered' | 'read'

/** Statuses a message may move to from each state: forward only, failure only before delivery. */
const PREDECESSORS: Record<OutboundStatus | 'failed', string[]> = {
  sent: ['queued'],
  delivered: ['queued', 'sent'],
  read: ['queued', 'sent', 'delivered'],
  failed: ['queued', 'sent'],
}

export interface ChangedMessage {
  id: string
  phoneNumberId: string
  peer: string
  category: string | null
  conversationId: string | null
  /** Sealed JSON with the `biz_opaque_callback_data` to echo, if the send had one. */
  callbackData: Buffer | null
}

const CHANGED = ['id', 'phone_number_id', 'peer', 'category', 'conversation_id', 'callback_data'] as const

type ChangedRow = { id: string; phone_number_id: string; peer: string; category: string | null; conversation_id: string | null; callback_data: Buffer | null }

function changed(r: ChangedRow): ChangedMessage {
  return { id: r.id, phoneNumberId: r.phone_number_id, peer: r.peer, category: r.category, conversationId: r.conversation_id, callbackData: r.callback_data }
}

// rows of a multi-row statement, and ids of an IN list
const chunks = <T>(items: T[]) => statementChunks(items, 256)

/** The outbound side of the messages table, as the CoreApp works it. */
export class Outbox {
  constructor(private readonly ctx: StoreContext) {}

  /** A claim from a cursor sees every queued row below it: none commits later with a lower seq. */
  get claimsInCommitOrder(): boolean {
    return this.ctx.engine.commitsInKeyOrder
  }

  /** Queued messages of the given shards after `afterSeq`, oldest first. */
  async claimQueued(phoneNumberId: string, shards: number[], afterSeq: number, limit: number): Promise<QueuedMessage[]> {
    if (shards.length === 0) return []
    const found = await runCompiled(this.ctx.db, this.ctx.engine.name, `claimQueued:${shards.length}`, () => this.ctx.db.selectFrom('messages as m')
      .leftJoin('outbound_envelopes as e', 'e.message_id', 'm.id')
      .select(['m.seq', 'm.id', 'm.phone_number_id', 'm.peer', 'm.type', 'm.content', 'm.shard', 'm.category', 'm.expires_at', 'm.created_at',
        'e.kind as env_kind', 'e.body as env_body', 'e.category as env_category', 'e.business_initiated as env_bi'])
      .where('m.phone_number_id', '=', phoneNumberId)
      .where('m.status', '=', 'queued')
      .where('m.shard', 'in', shards)
      .where('m.seq', '>', afterSeq)
      .where('m.direction', '=', 'out')
      .orderBy('m.seq')
      .limit(limit), [phoneNumberId, 'queued', ...shards, afterSeq, 'out', limit])
    const rows = await withResolved(this.ctx, found.rows, 'content')
    return rows.map((r) => ({
      seq: r.seq,
      id: r.id,
      phoneNumberId: r.phone_number_id,
      peer: r.peer,
      type: r.type,
      content: r.content,
      shard: r.shard,
      category: r.category,
      expiresAt: r.expires_at,
      createdAt: r.created_at,
      envelope: r.env_kind && r.env_body
        ? { kind: r.env_kind as 'prekey' | 'message', body: new Uint8Array(r.env_body), category: r.env_category ?? null, businessInitiated: r.env_bi === 1 }
        : null,
    }))
  }

  openContent<T>(sealed: Buffer): T {
    return this.ctx.sealer.openJson<T>(sealed)
  }

  /** Stores ciphertexts (and the category decided at encryption); same transaction as the session records. */
  async saveEnvelopes(envelopes: NewEnvelope[]): Promise<void> {
    const now = this.ctx.clock.now()
    if (envelopes.length === 0) return
    if (insertsInOneStatement(this.ctx.engine.name)) return this.#saveEnvelopesAtOnce(envelopes, now)
    for (const part of chunks(envelopes)) {
      const rows = part.map((e) => ({
        message_id: e.messageId, phone_number_id: e.phoneNumberId, peer: e.peer, kind: e.kind, body: Buffer.from(e.body),
        category: e.category, business_initiated: e.businessInitiated ? 1 : 0, created_at: now,
      }))
      await insertCompiled(this.ctx.db, this.ctx.engine.name, 'saveEnvelopes', rows, (r) => this.ctx.db.insertInto('outbound_envelopes').values([...r]))
    }
    for (const [category, categorized] of groupBy(envelopes.filter((e) => e.category), (e) => e.category!)) {
      for (const part of chunks(categorized.map((e) => e.messageId))) {
        await runCompiled(this.ctx.db, this.ctx.engine.name, `setCategory:${part.length}`,
          () => this.ctx.db.updateTable('messages').set({ category }).where('id', 'in', part), [category, ...part])
      }
    }
  }

  /** `saveEnvelopes` in one statement: the ciphertexts from unnest arrays, the categories set in the same WITH. */
  async #saveEnvelopesAtOnce(envelopes: NewEnvelope[], now: number): Promise<void> {
    const ids = envelopes.map((e) => e.messageId)
    const categories = envelopes.map((e) => e.category)
    const columns = [ids, envelopes.map((e) => e.phoneNumberId), envelopes.map((e) => e.peer), envelopes.map((e) => e.kind), envelopes.map((e) => Buffer.from(e.body)),
      categories, envelopes.map((e) => (e.businessInitiated ? 1 : 0)), envelopes.map(() => now)] as const
    await runCompiled(this.ctx.db, this.ctx.engine.name, 'saveEnvelopes:unnest', () => ({
      compile: () => sql`with saved as (insert into outbound_envelopes (message_id, phone_number_id, peer, kind, body, category, business_initiated, created_at)
          select * from unnest(${columns[0]}::text[], ${columns[1]}::text[], ${columns[2]}::text[], ${columns[3]}::text[], ${columns[4]}::bytea[], ${columns[5]}::text[], ${columns[6]}::integer[], ${columns[7]}::bigint[]))
        update messages m set category = t.category from unnest(${ids}::text[], ${categories}::text[]) as t (id, category) where m.id = t.id and t.category is not null`.compile(this.ctx.db),
    }), [...columns, ids, categories])
  }

  /** Moves messages forward to `to` where allowed; returns the ones that changed. */
  async transition(ids: string[], to: OutboundStatus, at: number): Promise<ChangedMessage[]> {
    const out: ChangedMessage[] = []
    for (const part of chunks(ids)) {
      const rows = await this.ctx.engine.updateReturning(this.ctx.db, {
        table: 'messages', key: ['seq'], set: { status: to, updated_at: at }, returning: CHANGED,
        where: (eb) => eb.and([eb('id', 'in', part), eb('direction', '=', 'out'), eb('status', 'in', PREDECESSORS[to])]),
      })
      for (const r of await withResolved(this.ctx, rows, 'callback_data')) out.push(changed(r))
    }
    return out
  }

  /**
   * `transition` and `recordStatuses` of the messages that changed, each at its own time
   * (`times`, by id; `updated_at` is the latest). On PostgreSQL one statement does both (a
   * data-modifying WITH), one round trip fewer per status in every group commit.
   */
  async transitionRecorded(times: Map<string, number>, to: OutboundStatus): Promise<ChangedMessage[]> {
    const at = Math.max(...times.values())
    if (!insertsInOneStatement(this.ctx.engine.name)) {
      const moved = await this.transition([...times.keys()], to, at)
      await this.recordStatuses(moved.map((m) => ({ messageId: m.id, status: to, at: times.get(m.id)! })))
      return moved
    }
    const ids = [...times.keys()]
    const ats = [...times.values()]
    const rows = await runCompiled(this.ctx.db, this.ctx.engine.name, 'transitionRecorded', () => ({
      compile: () => sql<ChangedRow>`with t (id, at) as (select * from unnest(${ids}::text[], ${ats}::bigint[])),
        moved as (update messages m set status = ${to}, updated_at = ${at} from t where m.id = t.id and m.direction = ${'out'} and m.status = any(${PREDECESSORS[to]}::text[])
          returning m.id, m.phone_number_id, m.peer, m.category, m.conversation_id, m.callback_data, t.at),
        history as (insert into message_statuses (message_id, status, at, error) select id, ${to}, at, null from moved on conflict (message_id, status) do nothing)
        select id, phone_number_id, peer, category, conversation_id, callback_data from moved`.compile(this.ctx.db),
    }), [ids, ats, to, at, 'out', PREDECESSORS[to], to])
    return (await withResolved(this.ctx, rows.rows, 'callback_data')).map(changed)
  }

  /** Fails a queued or sent message with webhook error objects; undefined if it had moved on. */
  async fail(id: string, errors: unknown[], at: number): Promise<ChangedMessage | undefined> {
    const [r] = await withResolved(this.ctx, await this.ctx.engine.updateReturning(this.ctx.db, {
      table: 'messages', key: ['seq'], set: { status: 'failed', error: JSON.stringify(errors), updated_at: at }, returning: CHANGED,
      where: (eb) => eb.and([eb('id', '=', id), eb('direction', '=', 'out'), eb('status', 'in', PREDECESSORS.failed)]),
    }), 'callback_data')
    return r && changed(r)
  }

  /** History rows; a status already recorded keeps its first timestamp. */
  async recordStatuses(rows: { messageId: string; status: string; at: number; error?: string | null }[]): Promise<void> {
    for (const part of chunks(rows)) {
      const values = part.map((r) => ({ message_id: r.messageId, status: r.status, at: r.at, error: r.error ?? null }))
      await insertCompiled(this.ctx.db, this.ctx.engine.name, 'recordStatuses', values,
        (v) => this.ctx.engine.insertIgnore(this.ctx.db.insertInto('message_statuses').values([...v]), ['message_id', 'status']))
    }
  }

  /** The network holds a message once it acked it: its ciphertext is no longer needed. */
  async deleteEnvelopes(ids: string[]): Promise<void> {
    for (const part of chunks(ids)) {
      await runCompiled(this.ctx.db, this.ctx.engine.name, `deleteEnvelopes:${part.length}`,
        () => this.ctx.db.deleteFrom('outbound_envelopes').where('message_id', 'in', part), part)
    }
  }

  /** Links messages to their conversations, many conversations per statement. */
  async setConversations(links: { messageId: string; conversationId: string }[]): Promise<void> {
    for (const part of chunks(links)) {
      const conversation = sql<string>`case id ${sql.join(part.map((l) => sql`when ${l.messageId} then ${l.conversationId}`), sql` `)} end`
      await this.ctx.db.updateTable('messages').set({ conversation_id: conversation }).where('id', 'in', part.map((l) => l.messageId)).execute()
    }
  }

  /** Status history of one message, oldest first. */
  statuses(messageId: string): Promise<{ status: string; at: number; error: string | null }[]> {
    return this.ctx.db.selectFrom('message_statuses').select(['status', 'at', 'error']).where('message_id', '=', messageId).orderBy('at').orderBy('status').execute()
  }

  async envelopeCount(phoneNumberId: string): Promise<number> {
    const row = await this.ctx.db.selectFrom('outbound_envelopes').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('phone_number_id', '=', phoneNumberId).executeTakeFirstOrThrow()
    return Number(row.n)
  }

  /** Recomputes the shard of every queued message after a shard-count change. */
  async reshard(phoneNumberId: string, shardOf: (peer: string) => number): Promise<void> {
    const rows = await this.ctx.db.selectFrom('messages').select(['id', 'peer', 'shard'])
      .where('phone_number_id', '=', phoneNumberId).where('direction', '=', 'out').where('status', '=', 'queued').execute()
    for (const [shard, group] of groupBy(rows, (r) => shardOf(r.peer))) {
      const moved = group.filter((r) => r.shard !== shard).map((r) => r.id)
      for (const part of chunks(moved)) await this.ctx.db.updateTable('messages').set({ shard }).where('id', 'in', part).execute()
    }
  }
}
