import SQLite from 'better-sqlite3'
import { Kysely, Migrator, SqliteDialect } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import type { Clock } from '../src/clock.js'
import type { Account } from '../src/network/accounts.js'
import type { NetworkDb } from '../src/network/database.js'
import { Integrity } from '../src/network/integrity.js'
import { networkMigrations } from '../src/network/migrations.js'
import { resolveLimits, type NetworkLimits } from '../src/network/options.js'
import { Relay, type InboxItem } from '../src/network/relay.js'
import type { NetworkDatabase } from '../src/network/schema.js'
import { WriteBatcher } from '../src/network/write-batcher.js'
import type { EnvelopeSend } from '../src/wire/frames.js'
import { bytes, silent } from './network-harness.js'

/*
 * Everything submitted in one event-loop turn shares one transaction, and the relay writes the
 * rows of all its jobs with one statement per kind. These tests submit their requests
 * synchronously, so each group below is one batch.
 */

let db: NetworkDb | undefined
afterEach(async () => {
  await db?.destroy()
  db = undefined
})

const business = account('15550300', true)
const alice = account('15550301', false)
const bob = account('15550302', false)

async function start(limits: Partial<NetworkLimits> = {}) {
  const raw = new SQLite(':memory:')
  db = new Kysely<NetworkDatabase>({ dialect: new SqliteDialect({ database: raw }) })
  const { error } = await new Migrator({ db, provider: networkMigrations }).migrateToLatest()
  if (error) throw error
  // Each reading of the time is 1 ms later, so a timestamp shows which job took it.
  let now = Date.UTC(2026, 0, 1)
  const clock: Clock = { now: () => ++now }
  const batcher = new WriteBatcher(db, silent)
  const resolved = resolveLimits('dev', limits)
  const integrity = await Integrity.load(db, batcher, clock, resolved)
  const delivered: InboxItem[] = []
  const relay = new Relay({ db, raw, batcher, clock, integrity, limits: resolved, deliver: (item) => delivered.push(item) })
  return { db, batcher, relay, delivered }
}

function envelope(envelopeId: string, to: string, id = `req-${envelopeId}`): EnvelopeSend {
  return { v: 1, t: 'envelope.send', id, envelopeId, to, kind: 'message', body: bytes(envelopeId) }
}

describe('relay writes shared by one batch', () => {
  it('relays an envelope id once even when its duplicate and its retry are in the same batch', async () => {
    const { db, relay, delivered } = await start()
    const [first, duplicate, retry, other] = await Promise.all([
      relay.send(alice, envelope('x', business.waId, 'req-1')),
      relay.send(alice, envelope('x', business.waId, 'req-2')),
      relay.send(alice, envelope('x', business.waId, 'req-1')),
      relay.send(bob, envelope('x', business.waId, 'req-1')),
    ])
    expect(duplicate).toEqual({ serverTimestamp: first!.serverTimestamp, duplicate: true })
    expect(retry).toEqual(first)
    // Another sender may use the same envelope id.
    expect(other).toMatchObject({ duplicate: false })
    expect(other!.serverTimestamp).toBeGreaterThan(first!.serverTimestamp)
    expect(delivered.map((i) => [i.sender, i.item_id])).toEqual([
      [alice.waId, 'x'],
      [bob.waId, 'x'],
    ])
    const remembered = await db.selectFrom('sent_envelopes').select(['sender', 'request_id']).orderBy('sender').execute()
    expect(remembered).toEqual([
      { sender: alice.waId, request_id: 'req-1' },
      { sender: bob.waId, request_id: 'req-1' },
    ])
  })

  it('stores envelopes and receipts of a batch in submission order and delivers them after commit, in seq order', async () => {
    const { db, relay, delivered } = await start()
    await Promise.all([
      relay.send(alice, envelope('a1', business.waId)),
      relay.sendReceipt(business.waId, { v: 1, t: 'receipt.send', id: 'r', to: alice.waId, kind: 'read', envelopeIds: ['w1'] }),
      relay.send(bob, envelope('b1', business.waId)),
    ])
    expect(delivered.map((i) => (i.type === 'receipt' ? 'receipt' : i.item_id))).toEqual(['a1', 'receipt', 'b1'])
    const seqs = delivered.map((i) => i.seq)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    // Delivered items are the stored rows, seq included.
    const stored = await db.selectFrom('inbox').selectAll().orderBy('seq').execute()
    expect(stored.map((row) => ({ ...row, body: row.body && Buffer.from(row.body) }))).toEqual(
      delivered.map((item) => ({ ...item, body: item.body && Buffer.from(item.body) })),
    )
  })

  it('refuses an envelope over an integrity limit and still stores and delivers the rest of its batch', async () => {
    const { db, relay, delivered } = await start({ pairBurst: 2 })
    const results = await Promise.allSettled([
      relay.send(business, envelope('w1', alice.waId)),
      relay.send(business, envelope('w2', alice.waId)),
      relay.send(business, envelope('w3', alice.waId)),
      relay.send(business, envelope('w4', bob.waId)),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'pair_rate_limit' })
    expect(delivered.map((i) => i.item_id)).toEqual(['w1', 'w2', 'w4'])
    // The refused one left no trace: it is not remembered as sent.
    const remembered = await db.selectFrom('sent_envelopes').select('envelope_id').orderBy('envelope_id').execute()
    expect(remembered.map((r) => r.envelope_id)).toEqual(['w1', 'w2', 'w4'])
  })

  it('retries a batch job by job after a broken job, storing and delivering every envelope once', async () => {
    const { db, batcher, relay, delivered } = await start()
    const results = await Promise.allSettled([
      relay.send(alice, envelope('before', business.waId)),
      batcher.run(async () => {
        throw new Error('bug')
      }),
      relay.send(alice, envelope('after', business.waId)),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(delivered.map((i) => i.item_id)).toEqual(['before', 'after'])
    expect(await db.selectFrom('inbox').select('item_id').orderBy('seq').execute()).toEqual([{ item_id: 'before' }, { item_id: 'after' }])
  })

  it('applies the acks of one batch, from several devices and of both kinds, together', async () => {
    const { db, relay } = await start()
    const [, , { receiptId }] = await Promise.all([
      relay.send(alice, envelope('x', business.waId)),
      relay.send(alice, envelope('y', business.waId)),
      relay.sendReceipt(business.waId, { v: 1, t: 'receipt.send', id: 'r', to: alice.waId, kind: 'delivered', envelopeIds: ['w1'] }),
    ])
    await Promise.all([relay.ack(business.waId, ['x', 'unknown']), relay.ackReceipts(alice.waId, [receiptId]), relay.ack(alice.waId, ['y'])])
    expect(await db.selectFrom('inbox').select(['recipient', 'item_id']).execute()).toEqual([{ recipient: business.waId, item_id: 'y' }])
  })

  it('writes more rows than one statement takes, in order', async () => {
    const { db, relay, delivered } = await start()
    const ids = Array.from({ length: 1300 }, (_, i) => `bulk-${i}`)
    const results = await Promise.all(ids.map((id) => relay.send(alice, envelope(id, business.waId))))
    expect(results.every((r) => !r.duplicate)).toBe(true)
    expect(delivered.map((i) => i.item_id)).toEqual(ids)
    const seqs = delivered.map((i) => i.seq)
    expect(new Set(seqs).size).toBe(ids.length)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    const again = await Promise.all(ids.map((id) => relay.send(alice, envelope(id, business.waId, 'other'))))
    expect(again.every((r) => r.duplicate)).toBe(true)
    await relay.ack(business.waId, ids)
    expect(await db.selectFrom('inbox').select('seq').execute()).toEqual([])
  })
})

function account(waId: string, isBusiness: boolean): Account {
  return {
    waId,
    cc: '1',
    phone: waId.slice(1),
    business: isBusiness,
    vname: null,
    passwordHash: '',
    pinHash: null,
    templateNamespace: null,
    tier: null,
    registeredAt: 0,
  }
}
