import { decode, encode } from '@msgpack/msgpack'
import { sql, type Selectable } from 'kysely'
import type { Clock } from '../clock.js'
import { randomToken } from '../ids.js'
import { fnv1a32 } from '../wire/shard.js'
import {
  PROTOCOL_VERSION,
  type EnvelopeFailedPush,
  type EnvelopePush,
  type EnvelopeSend,
  type EnvelopeSendResult,
  type ReceiptPush,
  type ReceiptSend,
} from '../wire/frames.js'
import type { Account } from './accounts.js'
import type { NetworkDb } from './database.js'
import type { Integrity } from './integrity.js'
import type { NetworkLimits } from './options.js'
import type { InboxTable } from './schema.js'
import type { WriteBatcher } from './write-batcher.js'

export type InboxItem = Selectable<InboxTable>

export interface RelayDeps {
  db: NetworkDb
  batcher: WriteBatcher
  clock: Clock
  integrity: Integrity
  limits: NetworkLimits
  /** Called after commit, in `seq` order, with every item that was queued for a device. */
  deliver(item: InboxItem): void
}

const EXPIRE_BATCH = 1000
const PRUNE_BATCH = 5000

/**
 * Store-and-forward of envelopes, receipts and failure notices. Everything a device should
 * get is first written to its inbox (acked to the sender only after that commit), then
 * pushed; it leaves the inbox only when the device acks it.
 */
export class Relay {
  readonly #deps: RelayDeps

  constructor(deps: RelayDeps) {
    this.#deps = deps
  }

  /** Stores an envelope (once per sender and envelope id) and hands it to delivery. */
  async send(sender: Account, frame: EnvelopeSend): Promise<EnvelopeSendResult> {
    const { clock, integrity } = this.#deps
    const { result, item } = await this.#deps.batcher.run(async (trx) => {
      const seen = await trx
        .selectFrom('sent_envelopes')
        .select(['request_id', 'server_ts'])
        .where('sender', '=', sender.waId)
        .where('envelope_id', '=', frame.envelopeId)
        .executeTakeFirst()
      // A retried request gets its original answer; another request with the same envelope id is a duplicate.
      if (seen) return { result: { serverTimestamp: seen.server_ts, duplicate: seen.request_id !== frame.id } }
      if (sender.business) await integrity.admit(trx, sender, frame.to, frame)
      const now = clock.now()
      await trx.insertInto('sent_envelopes').values({ sender: sender.waId, envelope_id: frame.envelopeId, request_id: frame.id, server_ts: now }).execute()
      const row = {
        recipient: frame.to,
        route_hash: fnv1a32(sender.waId),
        type: 'envelope' as const,
        item_id: frame.envelopeId,
        sender: sender.waId,
        kind: frame.kind,
        body: frame.body,
        created_at: now,
      }
      // The row is built here rather than RETURNING it: that would copy every body back out of SQLite.
      const { insertId } = await trx.insertInto('inbox').values(row).executeTakeFirstOrThrow()
      const item: InboxItem = { ...row, seq: Number(insertId) }
      return { result: { serverTimestamp: now, duplicate: false }, item }
    })
    if (item) this.#deps.deliver(item)
    return result
  }

  /** The recipient persisted these envelopes: forget them. */
  async ack(recipient: string, envelopeIds: string[]): Promise<void> {
    await this.#remove(recipient, 'envelope', envelopeIds)
  }

  async sendReceipt(sender: string, frame: ReceiptSend): Promise<{ receiptId: string }> {
    const receiptId = randomToken(12)
    const item = await this.#deps.batcher.run((trx) =>
      trx
        .insertInto('inbox')
        .values({
          recipient: frame.to,
          route_hash: fnv1a32(sender),
          type: 'receipt',
          item_id: receiptId,
          sender,
          kind: frame.kind,
          body: encode(frame.envelopeIds),
          created_at: this.#deps.clock.now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    )
    this.#deps.deliver(item)
    return { receiptId }
  }

  async ackReceipts(recipient: string, receiptIds: string[]): Promise<void> {
    await this.#remove(recipient, 'receipt', receiptIds)
  }

  /** Failure notices have no ack: they are dropped once written to the socket. */
  async dropNotice(seq: number): Promise<void> {
    await this.#deps.batcher.run((trx) => trx.deleteFrom('inbox').where('seq', '=', seq).where('type', '=', 'failed').execute())
  }

  /** Items for one shard of `recipient` after `afterSeq`, oldest first. */
  backlog(recipient: string, shard: number, shards: number, afterSeq: number, limit: number): Promise<InboxItem[]> {
    let query = this.#deps.db.selectFrom('inbox').selectAll().where('recipient', '=', recipient).where('seq', '>', afterSeq)
    if (shards > 1) query = query.where(sql<number>`route_hash % ${shards}`, '=', shard)
    return query.orderBy('seq').limit(limit).execute()
  }

  /** Fails envelopes undelivered past their TTL (notifying senders), then forgets old envelope ids. */
  async sweep(): Promise<void> {
    const { batcher, clock, limits } = this.#deps
    const now = clock.now()
    for (;;) {
      const notices = await batcher.run(async (trx) => {
        const expired = await trx
          .selectFrom('inbox')
          .select(['seq', 'recipient', 'sender', 'item_id'])
          .where('type', '=', 'envelope')
          .where('created_at', '<=', now - limits.envelopeTtlMs)
          .orderBy('seq')
          .limit(EXPIRE_BATCH)
          .execute()
        if (expired.length === 0) return []
        await trx.deleteFrom('inbox').where('seq', 'in', expired.map((e) => e.seq)).execute()
        const rows = expired.map((e) => ({
          recipient: e.sender,
          route_hash: fnv1a32(e.recipient),
          type: 'failed' as const,
          item_id: e.item_id,
          sender: e.recipient,
          kind: 'not_found',
          body: null,
          created_at: now,
        }))
        return trx.insertInto('inbox').values(rows).returningAll().execute()
      })
      for (const notice of notices) this.#deps.deliver(notice)
      if (notices.length < EXPIRE_BATCH) break
    }
    // In slices: one huge delete would hold the event loop (SQLite is synchronous here).
    for (;;) {
      const { numDeletedRows } = await batcher.run((trx) =>
        trx
          .deleteFrom('sent_envelopes')
          .where(({ eb, refTuple, selectFrom }) =>
            eb(
              refTuple('sender', 'envelope_id'),
              'in',
              selectFrom('sent_envelopes')
                .select(['sender', 'envelope_id'])
                .where('server_ts', '<=', now - limits.dedupRetentionMs)
                .limit(PRUNE_BATCH)
                .$asTuple('sender', 'envelope_id'),
            ),
          )
          .executeTakeFirst(),
      )
      if (Number(numDeletedRows) < PRUNE_BATCH) break
    }
  }

  async #remove(recipient: string, type: 'envelope' | 'receipt', ids: string[]): Promise<void> {
    if (ids.length === 0) return
    await this.#deps.batcher.run((trx) => trx.deleteFrom('inbox').where('recipient', '=', recipient).where('type', '=', type).where('item_id', 'in', ids).execute())
  }
}

/** The push frame for an inbox item. */
export function pushFrameOf(item: InboxItem): EnvelopePush | ReceiptPush | EnvelopeFailedPush {
  switch (item.type) {
    case 'envelope':
      return {
        v: PROTOCOL_VERSION,
        t: 'envelope',
        envelopeId: item.item_id,
        from: item.sender,
        kind: item.kind as EnvelopePush['kind'],
        body: item.body ?? new Uint8Array(),
        serverTimestamp: item.created_at,
      }
    case 'receipt':
      return {
        v: PROTOCOL_VERSION,
        t: 'receipt',
        receiptId: item.item_id,
        from: item.sender,
        kind: item.kind as ReceiptPush['kind'],
        envelopeIds: decode(item.body ?? new Uint8Array()) as string[],
        timestamp: item.created_at,
      }
    case 'failed':
      return {
        v: PROTOCOL_VERSION,
        t: 'envelope.failed',
        envelopeId: item.item_id,
        to: item.sender,
        error: { code: item.kind as EnvelopeFailedPush['error']['code'], message: 'not delivered before the envelope expired' },
      }
  }
}
