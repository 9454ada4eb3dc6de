import { randomBytes } from 'node:crypto'
import type { CallbackEvent } from '../domain/events.js'
import type { CallbackRow } from './schema.js'
import { insertCompiled, runCompiled } from './compiled-statements.js'
import { sealContent, withResolved } from './region-content.js'
import type { StoreContext } from './store.js'
import { statementChunks } from './statement-chunks.js'
import type { SealedRoutes } from './webhook-subscriptions.js'

/** A callback as the dispatcher holds it while delivering. */
export type ClaimedCallback = Pick<CallbackRow, 'seq' | 'phone_number_id' | 'event_type' | 'payload' | 'attempts' | 'created_at' | 'retry_since'>

/** One delivery attempt of one callback, and what happens to the callback next. */
export interface AttemptOutcome {
  seq: number
  phoneNumberId: string
  at: number
  httpStatus: number | null
  latencyMs: number
  error: string | null
  next: { kind: 'done' } | { kind: 'retry'; at: number } | { kind: 'dead' }
}

export type CallbackListFilter = 'pending' | 'failed' | 'dead'

export interface CallbackInfo {
  seq: number
  phoneNumberId: string
  eventType: string
  status: string
  attempts: number
  nextAttemptAt: number
  /** Lease end while a dispatcher is delivering it. */
  inFlightUntil: number | null
  createdAt: number
  deadAt: number | null
  lastError: string | null
  /** null when the payload cannot be opened (wrong at-rest key). */
  event: CallbackEvent | null
}

export interface CallbackAttemptInfo {
  at: number
  httpStatus: number | null
  latencyMs: number
  error: string | null
}

export interface Page<T> {
  items: T[]
  /** Pass as `after` for the next page; null on the last page. */
  next: number | null
}

export interface CallbackRequestCount {
  /** HTTP status, or null for a network error, timeout or refused URL. */
  httpStatus: number | null
  eventType: string | null
  count: number
}

export interface NumberDeliveryConfig extends SealedRoutes {
  id: string
  waId: string
  /** Raw settings JSON; `withDefaults` gives the effective settings. */
  settings: string
  sealedSecret: Buffer | null
  ca: string | null
  /** ON_PREMISE | CLOUD_API */
  platformType: string
  wabaId: string | null
  /** The app serving the number's WABA and its secret (sealed); null when there is none. */
  appId: string | null
  sealedAppSecret: Buffer | null
}

const ROWS_PER_STATEMENT = 512
/**
 * `status NOT IN (done, dead)` rather than `status = 'pending'` next to a list of seqs: SQLite
 * would pick the status index and scan every pending row instead of looking up the seqs.
 */
const SETTLED = ['done', 'dead']

export class Callbacks {
  constructor(private readonly ctx: StoreContext) {}

  /** Queues a callback; call it inside the transaction that made the change it reports. */
  async enqueue(phoneNumberId: string, event: CallbackEvent): Promise<void> {
    await this.enqueueMany(phoneNumberId, [event])
  }

  async enqueueMany(phoneNumberId: string, events: CallbackEvent[]): Promise<void> {
    if (events.length === 0) return
    const now = this.ctx.clock.now()
    // a group commit can carry thousands of events: stay far below the bind-parameter limits
    for (const part of statementChunks(events, ROWS_PER_STATEMENT)) {
      const sealed = await sealContent(this.ctx, part.map((event) => ({ phoneNumberId, kind: 'callback' as const, value: event })))
      const rows = part.map((event, i) => ({
        phone_number_id: phoneNumberId,
        event_type: event.type,
        payload: sealed[i]!,
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        created_at: now,
      }))
      await insertCompiled(this.ctx.db, this.ctx.engine.name, 'enqueueCallbacks', rows, (r) => this.ctx.db.insertInto('callbacks').values([...r]))
    }
  }

  async pendingCount(phoneNumberId?: string): Promise<number> {
    let q = this.ctx.db.selectFrom('callbacks').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'pending')
    if (phoneNumberId) q = q.where('phone_number_id', '=', phoneNumberId)
    const row = await q.executeTakeFirstOrThrow()
    return Number(row.n)
  }

  /** The event inside a callback row (sealed at rest). */
  event(row: Pick<CallbackRow, 'payload'>): CallbackEvent {
    return this.ctx.sealer.openJson<CallbackEvent>(row.payload)
  }

  /** Numbers that have at least one callback due now: one index probe per number. */
  async dueNumbers(): Promise<string[]> {
    const now = this.ctx.clock.now()
    const rows = await this.ctx.db.selectFrom('phone_numbers').select('id')
      .where((eb) => eb.exists(eb.selectFrom('callbacks').select('seq')
        .whereRef('callbacks.phone_number_id', '=', 'phone_numbers.id')
        .where('callbacks.status', '=', 'pending')
        .where('callbacks.next_attempt_at', '<=', now)))
      .execute()
    return rows.map((r) => r.id)
  }

  /**
   * Claims up to `limit` due callbacks of one number, oldest due first, under a lease: until
   * it ends they are not due for anyone else (next_attempt_at = lease end), after it they
   * come back by themselves. Rows another dispatcher is claiming right now are skipped.
   */
  async claim(phoneNumberId: string, limit: number, leaseMs: number, owner: string): Promise<ClaimedCallback[]> {
    if (limit <= 0) return []
    const now = this.ctx.clock.now()
    const rows = await this.ctx.engine.claim(this.ctx.db, {
      table: 'callbacks', key: ['seq'], orderBy: ['next_attempt_at', 'seq'], limit,
      set: { next_attempt_at: now + leaseMs, claimed_until: now + leaseMs, claimed_by: owner },
      where: (eb) => eb.and([eb('phone_number_id', '=', phoneNumberId), eb('status', '=', 'pending'), eb('next_attempt_at', '<=', now)]),
      returning: ['seq', 'phone_number_id', 'event_type', 'payload', 'attempts', 'created_at', 'retry_since'],
    })
    return (await withResolved(this.ctx, rows, 'payload')).sort((a, b) => a.seq - b.seq)
  }

  /**
   * Writes the outcome of attempts: the attempt log, then done / rescheduled / dead. Call it in
   * a transaction. A 200 retires the callback whoever holds the lease now; a failure only
   * reschedules it if `owner` still holds the lease (else another dispatcher owns it).
   */
  async record(outcomes: readonly AttemptOutcome[], owner: string): Promise<void> {
    if (outcomes.length === 0) return
    const now = this.ctx.clock.now()
    // one flush carries the outcomes of a few dozen POSTs: statements compiled once per row count
    const engine = this.ctx.engine.name
    for (const part of statementChunks(outcomes, ROWS_PER_STATEMENT)) {
      const rows = part.map((o) => ({
        callback_seq: o.seq,
        phone_number_id: o.phoneNumberId,
        at: o.at,
        http_status: o.httpStatus,
        latency_ms: Math.round(o.latencyMs),
        error: o.error,
      }))
      await insertCompiled(this.ctx.db, engine, 'recordCallbackAttempts', rows, (r) => this.ctx.db.insertInto('callback_attempts').values([...r]))
    }
    const done = outcomes.filter((o) => o.next.kind === 'done').map((o) => o.seq)
    for (const part of statementChunks(done, ROWS_PER_STATEMENT)) {
      await runCompiled(this.ctx.db, engine, `retireCallbacks:${part.length}`, () => this.ctx.db.updateTable('callbacks')
        .set((eb) => ({ status: 'done', delivered_at: now, attempts: eb('attempts', '+', 1), last_error: null, claimed_until: null, claimed_by: null }))
        .where('seq', 'in', part)
        .where('status', 'not in', SETTLED), ['done', now, 1, null, null, null, ...part, ...SETTLED])
    }
    for (const o of outcomes) {
      if (o.next.kind === 'done') continue
      const fields = o.next.kind === 'retry'
        ? { next_attempt_at: o.next.at }
        : { status: 'dead', dead_at: o.at }
      await this.ctx.db.updateTable('callbacks')
        .set((eb) => ({ ...fields, attempts: eb('attempts', '+', 1), last_error: o.error, claimed_until: null, claimed_by: null }))
        .where('seq', '=', o.seq)
        .where('status', '=', 'pending')
        .where('claimed_by', '=', owner)
        .execute()
    }
  }

  /** Gives claims back unattempted (shutdown): due again at once, no attempt counted. */
  async release(seqs: readonly number[], owner: string): Promise<void> {
    if (seqs.length === 0) return
    await this.ctx.db.updateTable('callbacks')
      .set({ next_attempt_at: this.ctx.clock.now(), claimed_until: null, claimed_by: null })
      .where('seq', 'in', [...seqs])
      .where('status', 'not in', SETTLED)
      .where('claimed_by', '=', owner)
      .execute()
  }

  /** Pending (all undelivered), failed (pending with attempts > 0) or dead callbacks, by seq. */
  async list(phoneNumberId: string, filter: CallbackListFilter, page: { limit?: number; after?: number } = {}): Promise<Page<CallbackInfo>> {
    const limit = Math.min(Math.max(Math.trunc(page.limit ?? 50), 1), 500)
    let q = this.ctx.db.selectFrom('callbacks').selectAll()
      .where('phone_number_id', '=', phoneNumberId)
      .where('status', '=', filter === 'dead' ? 'dead' : 'pending')
      .orderBy('seq').limit(limit + 1)
    if (filter === 'failed') q = q.where('attempts', '>', 0)
    if (page.after !== undefined) q = q.where('seq', '>', page.after)
    const rows = await withResolved(this.ctx, await q.execute(), 'payload')
    const items = rows.slice(0, limit).map((row) => this.#info(row))
    return { items, next: rows.length > limit ? items[items.length - 1]?.seq ?? null : null }
  }

  async get(phoneNumberId: string, seq: number): Promise<CallbackInfo | undefined> {
    const row = await this.ctx.db.selectFrom('callbacks').selectAll()
      .where('seq', '=', seq).where('phone_number_id', '=', phoneNumberId).executeTakeFirst()
    return row && this.#info((await withResolved(this.ctx, [row], 'payload'))[0]!)
  }

  /** The attempt log of one callback, oldest first. */
  async attempts(phoneNumberId: string, seq: number): Promise<CallbackAttemptInfo[]> {
    const rows = await this.ctx.db.selectFrom('callback_attempts').select(['at', 'http_status', 'latency_ms', 'error'])
      .where('callback_seq', '=', seq).where('phone_number_id', '=', phoneNumberId)
      .orderBy('seq').execute()
    return rows.map((r) => ({ at: r.at, httpStatus: r.http_status, latencyMs: r.latency_ms, error: r.error }))
  }

  /** Dead callback back to pending, due now, with a fresh retry window. False if it is not dead. */
  async replay(phoneNumberId: string, seq: number): Promise<boolean> {
    const result = await this.#replay(phoneNumberId).where('seq', '=', seq).executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  /** Every dead callback of a number back to pending; returns how many. */
  async replayAllDead(phoneNumberId: string): Promise<number> {
    const result = await this.#replay(phoneNumberId).executeTakeFirst()
    return Number(result.numUpdatedRows)
  }

  #replay(phoneNumberId: string) {
    const now = this.ctx.clock.now()
    return this.ctx.db.updateTable('callbacks')
      .set({ status: 'pending', attempts: 0, next_attempt_at: now, retry_since: now, dead_at: null, claimed_until: null, claimed_by: null })
      .where('phone_number_id', '=', phoneNumberId)
      .where('status', '=', 'dead')
  }

  /** Pending and dead counts per number (numbers with neither are absent). */
  async depthByNumber(): Promise<{ phoneNumberId: string; pending: number; dead: number }[]> {
    const rows = await this.ctx.db.selectFrom('callbacks')
      .select((eb) => ['phone_number_id', 'status', eb.fn.countAll<number>().as('n')])
      .where('status', 'in', ['pending', 'dead'])
      .groupBy(['phone_number_id', 'status']).execute()
    const out = new Map<string, { phoneNumberId: string; pending: number; dead: number }>()
    for (const r of rows) {
      const entry = out.get(r.phone_number_id) ?? { phoneNumberId: r.phone_number_id, pending: 0, dead: 0 }
      if (r.status === 'pending') entry.pending = Number(r.n)
      else entry.dead = Number(r.n)
      out.set(r.phone_number_id, entry)
    }
    return [...out.values()]
  }

  /** Attempts logged (within retention) by HTTP status and event type. */
  async requestCounts(phoneNumberId?: string): Promise<CallbackRequestCount[]> {
    let q = this.ctx.db.selectFrom('callback_attempts as a')
      .leftJoin('callbacks as c', 'c.seq', 'a.callback_seq')
      .select((eb) => ['a.http_status', 'c.event_type', eb.fn.countAll<number>().as('n')])
      .groupBy(['a.http_status', 'c.event_type'])
    if (phoneNumberId) q = q.where('a.phone_number_id', '=', phoneNumberId)
    const rows = await q.execute()
    return rows.map((r) => ({ httpStatus: r.http_status, eventType: r.event_type, count: Number(r.n) }))
  }

  /** Deletes up to `limit` callbacks (of one number, or all) delivered before `before`, with their attempt log. */
  async purgeDelivered(before: number, limit: number, phoneNumberId?: string): Promise<number> {
    let query = this.ctx.db.selectFrom('callbacks').select('seq').where('status', '=', 'done').where('delivered_at', '<', before)
    if (phoneNumberId !== undefined) query = query.where('phone_number_id', '=', phoneNumberId)
    const seqs = (await query.orderBy('seq').limit(limit).execute()).map((r) => r.seq)
    if (seqs.length === 0) return 0
    await this.ctx.db.deleteFrom('callback_attempts').where('callback_seq', 'in', seqs).execute()
    await this.ctx.db.deleteFrom('callbacks').where('seq', 'in', seqs).execute()
    return seqs.length
  }

  /** The number's X-Hub-Signature-256 secret, generated (and sealed) on first use. */
  async webhookSecret(phoneNumberId: string): Promise<string> {
    const row = await this.ctx.db.selectFrom('phone_numbers').select('webhook_secret').where('id', '=', phoneNumberId).executeTakeFirst()
    if (!row) throw new Error(`unknown phone number ${phoneNumberId}`)
    if (row.webhook_secret) return this.ctx.sealer.open(row.webhook_secret).toString('utf8')
    // only the first writer wins; everyone then reads the same secret
    await this.ctx.db.updateTable('phone_numbers')
      .set({ webhook_secret: this.ctx.sealer.seal(newSecret()) })
      .where('id', '=', phoneNumberId).where('webhook_secret', 'is', null).execute()
    return this.webhookSecret(phoneNumberId)
  }

  /**
   * The secret that signs the number's callbacks: for a Cloud-hosted number, the app secret of
   * its WABA's app (as Meta signs); otherwise, or without an app, the number's own secret.
   */
  async signingSecret(phoneNumberId: string): Promise<{ secret: string; appId: string | null }> {
    const row = await this.ctx.db.selectFrom('phone_numbers as n')
      .leftJoin('wabas as w', 'w.id', 'n.waba_id')
      .leftJoin('apps as a', 'a.id', 'w.app_id')
      .select(['n.platform_type', 'a.id as app_id', 'a.app_secret'])
      .where('n.id', '=', phoneNumberId).executeTakeFirst()
    if (row?.platform_type === 'CLOUD_API' && row.app_id !== null && row.app_secret !== null) {
      return { secret: this.openWebhookSecret(row.app_secret), appId: row.app_id }
    }
    return { secret: await this.webhookSecret(phoneNumberId), appId: null }
  }

  /** Replaces the secret (receivers must be updated); returns the new one. */
  async rotateWebhookSecret(phoneNumberId: string): Promise<string> {
    const secret = newSecret()
    await this.ctx.db.updateTable('phone_numbers')
      .set({ webhook_secret: this.ctx.sealer.seal(secret), updated_at: this.ctx.clock.now() })
      .where('id', '=', phoneNumberId).execute()
    return secret
  }

  /** Open a sealed secret read with the number row (the dispatcher caches it). */
  openWebhookSecret(sealed: Uint8Array): string {
    return this.ctx.sealer.open(sealed).toString('utf8')
  }

  async webhookCa(phoneNumberId: string): Promise<string | null> {
    const row = await this.ctx.db.selectFrom('phone_numbers').select('webhook_ca').where('id', '=', phoneNumberId).executeTakeFirst()
    return row?.webhook_ca ?? null
  }

  /** Stores (or with null removes) the CA trusted for this number's webhook endpoint. */
  async setWebhookCa(phoneNumberId: string, pem: string | null): Promise<void> {
    await this.ctx.db.updateTable('phone_numbers')
      .set({ webhook_ca: pem, updated_at: this.ctx.clock.now() })
      .where('id', '=', phoneNumberId).execute()
  }

  /** What the dispatcher needs of every number, with its WABA's and app's webhook routing, in one query. */
  async deliveryConfigs(): Promise<NumberDeliveryConfig[]> {
    const rows = await this.ctx.db.selectFrom('phone_numbers as n')
      .leftJoin('wabas as w', 'w.id', 'n.waba_id')
      .leftJoin('apps as a', 'a.id', 'w.app_id')
      .select([
        'n.id', 'n.wa_id', 'n.settings', 'n.webhook_secret', 'n.webhook_ca', 'n.platform_type', 'n.waba_id', 'n.webhook_override',
        'w.webhook_override as waba_override', 'a.id as app_id', 'a.app_secret', 'a.subscription', 'a.subscription_fields',
      ])
      .orderBy('n.id').execute()
    return rows.map((r) => ({
      id: r.id, waId: r.wa_id, settings: r.settings, sealedSecret: r.webhook_secret, ca: r.webhook_ca,
      platformType: r.platform_type, wabaId: r.waba_id, appId: r.app_id, sealedAppSecret: r.app_secret,
      phoneOverride: r.webhook_override, wabaOverride: r.waba_override, appSubscription: r.subscription, appFields: r.subscription_fields,
    }))
  }

  #info(row: CallbackRow): CallbackInfo {
    let event: CallbackEvent | null = null
    try {
      event = this.event(row)
    } catch {
      // shown without its body rather than hiding the row
    }
    return {
      seq: row.seq,
      phoneNumberId: row.phone_number_id,
      eventType: row.event_type,
      status: row.status,
      attempts: row.attempts,
      nextAttemptAt: row.next_attempt_at,
      inFlightUntil: row.claimed_until,
      createdAt: row.created_at,
      deadAt: row.dead_at,
      lastError: row.last_error,
      event,
    }
  }
}

function newSecret(): string {
  return randomBytes(32).toString('hex')
}
