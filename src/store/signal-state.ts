import { sql } from 'kysely'
import type { StoreContext } from './store.js'
import { insertCompiled } from './compiled-statements.js'
import { statementChunks } from './statement-chunks.js'

export type SignalKeyKind = 'pre' | 'signed' | 'kyber'

export interface StoredLocalIdentity {
  identityKeyPair: Uint8Array
  registrationId: number
  nextKeyId: number
}

export interface StoredRemoteIdentity {
  publicKey: Uint8Array
  firstSeenAt: number
}

/**
 * Everything one batch of Signal operations changed for one number. `null` deletes; a Kyber
 * entry with `null` marks a one-time key used (last-resort keys survive).
 */
export interface SignalChanges {
  local?: StoredLocalIdentity
  remoteIdentities: Map<string, StoredRemoteIdentity>
  sessions: Map<string, Uint8Array | null>
  preKeys: Map<number, Uint8Array | null>
  signedPreKeys: Map<number, Uint8Array>
  kyberPreKeys: Map<number, { record: Uint8Array; lastResort: boolean } | null>
}

export function emptySignalChanges(): SignalChanges {
  return { remoteIdentities: new Map(), sessions: new Map(), preKeys: new Map(), signedPreKeys: new Map(), kyberPreKeys: new Map() }
}

/** Folds `later` into `into`; where both touch one record, `later` wins. */
export function mergeSignalChanges(into: SignalChanges, later: SignalChanges): void {
  if (later.local) into.local = later.local
  for (const [k, v] of later.remoteIdentities) into.remoteIdentities.set(k, v)
  for (const [k, v] of later.sessions) into.sessions.set(k, v)
  for (const [k, v] of later.preKeys) into.preKeys.set(k, v)
  for (const [k, v] of later.signedPreKeys) into.signedPreKeys.set(k, v)
  for (const [k, v] of later.kyberPreKeys) into.kyberPreKeys.set(k, v)
}

export function hasSignalChanges(c: SignalChanges): boolean {
  return c.local !== undefined || c.remoteIdentities.size + c.sessions.size + c.preKeys.size + c.signedPreKeys.size + c.kyberPreKeys.size > 0
}

const chunks = <T>(items: T[]) => statementChunks(items, 128)

/** The business's Signal state, per number, in SQL; private material is sealed at rest. */
export class SignalState {
  constructor(private readonly ctx: StoreContext) {}

  async local(phoneNumberId: string): Promise<StoredLocalIdentity | null> {
    const row = await this.ctx.db.selectFrom('signal_accounts').selectAll().where('phone_number_id', '=', phoneNumberId).executeTakeFirst()
    if (!row) return null
    return { identityKeyPair: this.ctx.sealer.open(row.identity_key_pair), registrationId: row.registration_id, nextKeyId: row.next_key_id }
  }

  async remoteIdentity(phoneNumberId: string, address: string): Promise<StoredRemoteIdentity | null> {
    const row = await this.ctx.db.selectFrom('signal_remote_identities').select(['public_key', 'first_seen_at'])
      .where('phone_number_id', '=', phoneNumberId).where('address', '=', address).executeTakeFirst()
    return row ? { publicKey: new Uint8Array(row.public_key), firstSeenAt: row.first_seen_at } : null
  }

  async session(phoneNumberId: string, address: string): Promise<Uint8Array | null> {
    const row = await this.ctx.db.selectFrom('signal_sessions').select('record')
      .where('phone_number_id', '=', phoneNumberId).where('address', '=', address).executeTakeFirst()
    return row ? this.ctx.sealer.open(row.record) : null
  }

  /** Sessions of many remotes in one query (a batch warms the cache before encrypting). */
  async sessions(phoneNumberId: string, addresses: string[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>()
    for (const part of chunks(addresses)) {
      const rows = await this.ctx.db.selectFrom('signal_sessions').select(['address', 'record'])
        .where('phone_number_id', '=', phoneNumberId).where('address', 'in', part).execute()
      for (const row of rows) out.set(row.address, this.ctx.sealer.open(row.record))
    }
    return out
  }

  async key(phoneNumberId: string, kind: SignalKeyKind, id: number): Promise<Uint8Array | null> {
    const row = await this.ctx.db.selectFrom('signal_keys').select('record')
      .where('phone_number_id', '=', phoneNumberId).where('kind', '=', kind).where('key_id', '=', id).executeTakeFirst()
    return row ? this.ctx.sealer.open(row.record) : null
  }

  /** Seals the changed sessions before the transaction that writes them (`Sealer.sealAhead`). */
  sealAhead(changes: SignalChanges): void {
    for (const record of changes.sessions.values()) if (record) this.ctx.sealer.sealAhead(record)
  }

  /** Writes a batch of changes; call it inside the transaction that persists what they produced. */
  async apply(phoneNumberId: string, changes: SignalChanges): Promise<void> {
    const { db, sealer, engine } = this.ctx
    const now = this.ctx.clock.now()
    if (changes.local) {
      const l = changes.local
      await engine.upsert(db.insertInto('signal_accounts').values({
        phone_number_id: phoneNumberId, identity_key_pair: sealer.seal(l.identityKeyPair), registration_id: l.registrationId,
        next_key_id: l.nextKeyId, updated_at: now,
      }), ['phone_number_id'], (incoming) => ({
        identity_key_pair: incoming('identity_key_pair'),
        registration_id: incoming('registration_id'),
        next_key_id: incoming('next_key_id'),
        updated_at: incoming('updated_at'),
      })).execute()
    }
    for (const part of chunks([...changes.remoteIdentities])) {
      await engine.upsert(db.insertInto('signal_remote_identities').values(part.map(([address, r]) => ({
        phone_number_id: phoneNumberId, address, public_key: Buffer.from(r.publicKey), first_seen_at: r.firstSeenAt,
      }))), ['phone_number_id', 'address'], (incoming) => ({
        public_key: incoming('public_key'), first_seen_at: incoming('first_seen_at'),
      })).execute()
    }
    const sessions = [...changes.sessions]
    const upserts = sessions.filter((e): e is [string, Uint8Array] => e[1] !== null)
    for (const part of chunks(upserts)) {
      // a session is written with every message sent: the statement is built once per row count
      const rows = part.map(([address, record]) => ({ phone_number_id: phoneNumberId, address, record: sealer.seal(record), updated_at: now }))
      await insertCompiled(db, engine.name, 'upsertSessions', rows, (r) => engine.upsert(db.insertInto('signal_sessions').values([...r]), ['phone_number_id', 'address'], (incoming) => ({
        record: incoming('record'), updated_at: incoming('updated_at'),
      })))
    }
    const removed = sessions.filter((e) => e[1] === null).map((e) => e[0])
    for (const part of chunks(removed)) {
      await db.deleteFrom('signal_sessions').where('phone_number_id', '=', phoneNumberId).where('address', 'in', part).execute()
    }
    const keyRows: { kind: SignalKeyKind; id: number; record: Uint8Array; lastResort: boolean }[] = []
    const deletions: { kind: SignalKeyKind; id: number }[] = []
    for (const [id, record] of changes.preKeys) {
      if (record) keyRows.push({ kind: 'pre', id, record, lastResort: false })
      else deletions.push({ kind: 'pre', id })
    }
    for (const [id, record] of changes.signedPreKeys) keyRows.push({ kind: 'signed', id, record, lastResort: false })
    for (const [id, entry] of changes.kyberPreKeys) {
      if (entry) keyRows.push({ kind: 'kyber', id, record: entry.record, lastResort: entry.lastResort })
      else deletions.push({ kind: 'kyber', id })
    }
    for (const part of chunks(keyRows)) {
      await engine.upsert(db.insertInto('signal_keys').values(part.map((k) => ({
        phone_number_id: phoneNumberId, kind: k.kind, key_id: k.id, record: sealer.seal(k.record), last_resort: k.lastResort ? 1 : 0, created_at: now,
      }))), ['phone_number_id', 'kind', 'key_id'], (incoming) => ({
        record: incoming('record'), last_resort: incoming('last_resort'),
      })).execute()
    }
    for (const kind of ['pre', 'kyber'] as const) {
      const ids = deletions.filter((d) => d.kind === kind).map((d) => d.id)
      for (const part of chunks(ids)) {
        // a last-resort Kyber key is used again and again; only one-time keys go
        await db.deleteFrom('signal_keys').where('phone_number_id', '=', phoneNumberId).where('kind', '=', kind)
          .where('key_id', 'in', part).where('last_resort', '=', 0).execute()
      }
    }
  }

  /**
   * Reserves `count` key ids atomically and returns the first: two processes topping up pre-keys
   * at once get disjoint ids. Undefined if the number has no identity yet.
   */
  async reserveKeyIds(phoneNumberId: string, count: number): Promise<number | undefined> {
    const [row] = await this.ctx.engine.updateReturning(this.ctx.db, {
      table: 'signal_accounts', key: ['phone_number_id'], returning: ['next_key_id'],
      set: { next_key_id: sql<number>`next_key_id + ${count}`, updated_at: this.ctx.clock.now() },
      where: (eb) => eb('phone_number_id', '=', phoneNumberId),
    })
    return row ? row.next_key_id - count : undefined
  }

  /** Counts of stored one-time keys (diagnostics and tests). */
  async oneTimeKeyCount(phoneNumberId: string): Promise<number> {
    const row = await this.ctx.db.selectFrom('signal_keys').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('phone_number_id', '=', phoneNumberId).where('kind', '=', 'pre').executeTakeFirstOrThrow()
    return Number(row.n)
  }
}
