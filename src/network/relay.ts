import { Decoder, Encoder } from '@msgpack/msgpack'
import { sql } from 'kysely'
import type { Clock } from '../clock.js'
import { randomToken } from '../ids.js'
import { fnv1a32 } from '../domain/shard.js'
import {
  PROTOCOL_VERSION,
  type AccountUpdatePush,
  type EnvelopeFailedPush,
  type EnvelopePush,
  type EnvelopeSend,
  type EnvelopeSendResult,
  type ReceiptPush,
  type ReceiptSend,
} from '../wire/frames.js'
import type { Account } from './accounts.js'
import type { NetworkDb, RawSqlite } from './database.js'
import type { Integrity } from './integrity.js'
import type { NetworkLimits } from './options.js'
import { RelayWrites, type InboxItem } from './relay-writes.js'
import type { BatchParts, Prepare, WriteBatcher } from './write-batcher.js'

export type { InboxItem } from './relay-writes.js'

export interface RelayDeps {
  db: NetworkDb
  /** `db`'s connection: the relay's own statements run on it in the batcher's transaction. */
  raw: RawSqlite
  batcher: WriteBatcher
  clock: Clock
  integrity: Integrity
  limits: NetworkLimits
  /** Called after commit, in `seq` order, with every item that was queued for a device. */
  deliver(item: InboxItem): void
}

const EXPIRE_BATCH = 1000

// One of each for item bodies (receipts' envelope ids, updates' values): msgpack's encode() and
// decode() build a new coder, and a 2 KiB buffer, on every call, and one receipt is two calls.
const bodyEncoder = new Encoder()
const bodyDecoder = new Decoder()
const encode = (value: unknown): Uint8Array => bodyEncoder.encode(value)
const decode = (body: Uint8Array): unknown => bodyDecoder.decode(body)
const PRUNE_BATCH = 5000

/**
 * Store-and-forward of envelopes, receipts and failure notices. Everything a device should
 * get is first written to its inbox (acked to the sender only after that commit), then
 * pushed; it leaves the inbox only when the device acks it. The rows of one write batch are
 * written together just before its commit (relay-writes.ts).
 */
export class Relay {
  readonly #deps: RelayDeps

  constructor(deps: RelayDeps) {
    this.#deps = deps
  }

  /** Stores an envelope (once per sender and envelope id) and hands it to delivery. */
  send(sender: Account, frame: EnvelopeSend): Promise<EnvelopeSendResult> {
    const { clock, integrity } = this.#deps
    // Announced before the batch runs, so that one query checks all its envelope ids.
    const announce: Prepare = (parts) => this.#writes(parts).expect(sender.waId, frame.envelopeId)
    return this.#deps.batcher.run(async (trx, parts) => {
      const writes = this.#writes(parts)
      const seen = await writes.accepted(sender.waId, frame.envelopeId)
      // A retried request gets its original answer; another request with the same envelope id is a duplicate.
      if (seen) return { serverTimestamp: seen.server_ts, duplicate: seen.request_id !== frame.id }
      if (sender.business) await integrity.admit(trx, sender, frame.to, frame)
      const now = clock.now()
      writes.accept({ sender: sender.waId, envelope_id: frame.envelopeId, request_id: frame.id, server_ts: now })
      writes.queue({
        recipient: frame.to,
        route_hash: fnv1a32(sender.waId),
        type: 'envelope',
        item_id: frame.envelopeId,
        sender: sender.waId,
        kind: frame.kind,
        body: frame.body,
        created_at: now,
      })
      return { serverTimestamp: now, duplicate: false }
    }, announce)
  }

  /** The recipient persisted these envelopes: forget them. */
  async ack(recipient: string, envelopeIds: string[]): Promise<void> {
    await this.#remove(recipient, 'envelope', envelopeIds)
  }

  async sendReceipt(sender: string, frame: ReceiptSend): Promise<{ receiptId: string }> {
    const receiptId = randomToken(12)
    await this.#deps.batcher.run(async (_trx, parts) =>
      this.#writes(parts).queue({
        recipient: frame.to,
        route_hash: fnv1a32(sender),
        type: 'receipt',
        item_id: receiptId,
        sender,
        kind: frame.kind,
        body: encode(frame.envelopeIds),
        created_at: this.#deps.clock.now(),
      }),
    )
    return { receiptId }
  }

  async ackReceipts(recipient: string, receiptIds: string[]): Promise<void> {
    await this.#remove(recipient, 'receipt', receiptIds)
  }

  /**
   * Queues an `account.update` for a business in the transaction of `parts` (so the change it
   * reports and the notice commit together). It goes to shard 0 and stays until acked.
   */
  queueUpdate(parts: BatchParts, recipient: string, field: string, value: Record<string, unknown>): void {
    this.#writes(parts).queue({
      recipient,
      route_hash: 0,
      type: 'update',
      item_id: randomToken(12),
      sender: recipient,
      kind: field,
      body: encode(value),
      created_at: this.#deps.clock.now(),
    })
  }

  async ackUpdates(recipient: string, updateIds: string[]): Promise<void> {
    await this.#remove(recipient, 'update', updateIds)
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
      const expired = await batcher.run(async (trx, parts) => {
        const writes = this.#writes(parts)
        // Acks taken earlier in this batch must count: an acked envelope has not expired.
        await writes.flush(trx)
        const expired = await trx
          .selectFrom('inbox')
          .select(['seq', 'recipient', 'sender', 'item_id'])
          .where('type', '=', 'envelope')
          .where('created_at', '<=', now - limits.envelopeTtlMs)
          .orderBy('seq')
          .limit(EXPIRE_BATCH)
          .execute()
        if (expired.length === 0) return 0
        await trx.deleteFrom('inbox').where('seq', 'in', expired.map((e) => e.seq)).execute()
        for (const e of expired) {
          writes.queue({
            recipient: e.sender,
            route_hash: fnv1a32(e.recipient),
            type: 'failed',
            item_id: e.item_id,
            sender: e.recipient,
            kind: 'not_found',
            body: null,
            created_at: now,
          })
        }
        return expired.length
      })
      if (expired < EXPIRE_BATCH) break
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

  async #remove(recipient: string, type: 'envelope' | 'receipt' | 'update', ids: string[]): Promise<void> {
    if (ids.length === 0) return
    await this.#deps.batcher.run(async (_trx, parts) => this.#writes(parts).remove(recipient, type, ids))
  }

  /** This transaction's relay writes, delivered after its commit. */
  #writes(parts: BatchParts): RelayWrites {
    return parts.part(this, () => new RelayWrites(this.#deps.deliver, this.#deps.raw))
  }
}

/** The push frame for an inbox item; `userIdOf` gives the sender's BSUID, where the recipient gets one. */
export function pushFrameOf(item: InboxItem, userIdOf: (sender: string) => string | undefined): EnvelopePush | ReceiptPush | EnvelopeFailedPush | AccountUpdatePush {
  // failure notices are about the sender's own addressee, whom it named itself; updates about the recipient
  const fromUserId = item.type === 'failed' || item.type === 'update' ? undefined : userIdOf(item.sender)
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
        ...(fromUserId ? { fromUserId } : {}),
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
        ...(fromUserId ? { fromUserId } : {}),
      }
    case 'failed':
      return {
        v: PROTOCOL_VERSION,
        t: 'envelope.failed',
        envelopeId: item.item_id,
        to: item.sender,
        error: { code: item.kind as EnvelopeFailedPush['error']['code'], message: 'not delivered before the envelope expired' },
      }
    case 'update':
      return {
        v: PROTOCOL_VERSION,
        t: 'account.update',
        updateId: item.item_id,
        field: item.kind,
        value: decode(item.body ?? new Uint8Array()) as Record<string, unknown>,
        timestamp: item.created_at,
      }
  }
}
