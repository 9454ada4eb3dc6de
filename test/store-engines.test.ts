import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { engineOfUrl } from '../src/store/database.js'
import { Store } from '../src/store/store.js'
import { describeEachDatabase } from './helpers/databases.js'
import { addNumber, events } from './webhooks-harness.js'

describeEachDatabase('store engines', (ctx, dialect) => {
  it('keeps ids apart that differ only in case or a trailing space, and stores any Unicode', async () => {
    const { store } = ctx()
    for (const username of ['Agent', 'agent', 'agent ']) expect(await store.users.create({ username, password: 'pw-1234567' })).toBe(true)
    expect(await store.users.create({ username: 'agent', password: 'pw-1234567' })).toBe(false)
    expect((await store.users.get('AGENT'))).toBeUndefined()
    const id = await addNumber(store, {})
    await store.profiles.setAbout(id, 'Open 🕘 9–17, ☕ inside')
    expect((await store.profiles.get(id)).about).toBe('Open 🕘 9–17, ☕ inside')
  })

  it('reads 64-bit integers back as JS numbers', async () => {
    const { store } = ctx()
    const id = await addNumber(store, {})
    const row = await store.ctx.db.selectFrom('phone_numbers').select(['created_at', 'shard_count']).where('id', '=', id).executeTakeFirstOrThrow()
    expect(typeof row.created_at).toBe('number')
    expect(row.created_at).toBe(store.ctx.clock.now())
    const count = await store.ctx.db.selectFrom('phone_numbers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    expect(Number(count.n)).toBeGreaterThan(0)
  })

  it('upserts: a second write of the same key updates the row, an ignored insert leaves it', async () => {
    const { store, clock } = ctx()
    const id = await addNumber(store, {})
    await store.contactChecks.save(id, [{ waId: '15550001', status: 'valid' }])
    clock.tick(10)
    await store.contactChecks.save(id, [{ waId: '15550001', status: 'invalid' }, { waId: '15550002', status: 'valid' }])
    const rows = await store.ctx.db.selectFrom('contacts').select(['wa_id', 'check_status', 'checked_at']).where('phone_number_id', '=', id).orderBy('wa_id').execute()
    expect(rows).toEqual([
      { wa_id: '15550001', check_status: 'invalid', checked_at: store.ctx.clock.now() },
      { wa_id: '15550002', check_status: 'valid', checked_at: store.ctx.clock.now() },
    ])
    await store.outbox.recordStatuses([{ messageId: 'wamid.x', status: 'sent', at: 1 }])
    await store.outbox.recordStatuses([{ messageId: 'wamid.x', status: 'sent', at: 2 }])
    expect(await store.outbox.statuses('wamid.x')).toEqual([{ status: 'sent', at: 1, error: null }])
  })

  it('a lease has one holder: taken when free or expired, kept by its owner, refused to others', async () => {
    const { store, clock } = ctx()
    const id = await addNumber(store, {})
    expect(await store.shardLeases.acquire(id, 0, 'a', 1000)).toBe(true)
    expect(await store.shardLeases.acquire(id, 0, 'b', 1000)).toBe(false)
    expect(await store.shardLeases.acquire(id, 0, 'a', 1000)).toBe(true)
    expect(await store.shardLeases.renew('a', 1000)).toEqual([{ phoneNumberId: id, shard: 0 }])
    clock.tick(1000)
    expect(await store.shardLeases.renew('a', 1000)).toEqual([])
    expect(await store.shardLeases.acquire(id, 0, 'b', 1000)).toBe(true)
    expect(await store.shardLeases.holds(id, 0, 'b')).toBe(true)
    expect(await store.shardLeases.holds(id, 0, 'a')).toBe(false)
    // two owners racing for a free lease: exactly one gets it
    const raced = await Promise.all(['c', 'd', 'e'].map((owner) => store.shardLeases.acquire(id, 1, owner, 1000)))
    expect(raced.filter(Boolean)).toHaveLength(1)
  })

  it('reserves disjoint key id ranges however many reserve at once', async () => {
    const { store } = ctx()
    const id = await addNumber(store, {})
    await store.signal.apply(id, {
      local: { identityKeyPair: new Uint8Array([1, 2, 3]), registrationId: 7, nextKeyId: 100 },
      remoteIdentities: new Map(), sessions: new Map(), preKeys: new Map(), signedPreKeys: new Map(), kyberPreKeys: new Map(),
    })
    const firsts = await Promise.all(Array.from({ length: 5 }, () => store.signal.reserveKeyIds(id, 10)))
    expect(firsts.sort((a, b) => a! - b!)).toEqual([100, 110, 120, 130, 140])
    expect(await store.signal.reserveKeyIds('pn-none', 10)).toBeUndefined()
  })

  it('claims callbacks oldest first, each once, and returns what was claimed', async () => {
    const { store } = ctx()
    const id = await addNumber(store, {})
    await store.callbacks.enqueueMany(id, events(7, 'claim'))
    const first = await store.callbacks.claim(id, 5, 60_000, 'one')
    const second = await store.callbacks.claim(id, 5, 60_000, 'two')
    expect(first).toHaveLength(5)
    expect(second).toHaveLength(2)
    expect(first.map((c) => c.seq)).toEqual([...first.map((c) => c.seq)].sort((a, b) => a - b))
    expect(Math.max(...first.map((c) => c.seq))).toBeLessThan(Math.min(...second.map((c) => c.seq)))
    expect(store.callbacks.event(first[0]!)).toMatchObject({ type: 'status', status: { id: 'claim-00000' } })
    expect(await store.callbacks.claim(id, 5, 60_000, 'three')).toEqual([])
  })

  it.runIf(dialect !== 'sqlite')('a claim skips the rows an open transaction of another connection is claiming', async () => {
    const t = ctx()
    const id = await addNumber(t.store, {})
    await t.store.callbacks.enqueueMany(id, events(6, 'skip'))
    const second = t.reopen()
    try {
      const other = Store.open(second, t.sealer, t.clock)
      let release!: () => void
      const held = new Promise<void>((resolve) => (release = resolve))
      let claimedFirst!: (seqs: number[]) => void
      const firstSeqs = new Promise<number[]>((resolve) => (claimedFirst = resolve))
      const first = t.store.transaction(async (tx) => {
        claimedFirst((await tx.callbacks.claim(id, 3, 60_000, 'one')).map((c) => c.seq))
        await held
      })
      const a = await firstSeqs
      // the first transaction still holds its rows: the second claim must neither wait nor take them
      const b = (await other.callbacks.claim(id, 6, 60_000, 'two')).map((c) => c.seq)
      release()
      await first
      expect(a).toHaveLength(3)
      expect(b).toHaveLength(3)
      expect(a.filter((seq) => b.includes(seq))).toEqual([])
    } finally {
      await second.close()
    }
  })

  it('an advisory lock admits one holder at a time', async () => {
    const { database, store } = ctx()
    const order: string[] = []
    const hold = (name: string) => database.engine.withAdvisoryLock(database.db, 'engines-test', async (db) => {
      order.push(`${name} in`)
      await sql`select 1`.execute(db)
      // hold the lock a while: the other holder's lock query is in flight and must be made to wait
      await new Promise((resolve) => setTimeout(resolve, 20))
      order.push(`${name} out`)
      return name
    })
    expect(await Promise.all([hold('a'), hold('b')])).toEqual(['a', 'b'])
    expect(order).toEqual(order[0] === 'a in' ? ['a in', 'a out', 'b in', 'b out'] : ['b in', 'b out', 'a in', 'a out'])
    // inside a transaction, on the transaction's own connection
    expect(await store.transaction((tx) => database.engine.withAdvisoryLock(tx.ctx.db, 'engines-test', async () => 'in tx'))).toBe('in tx')
  })

  it('deleting a number deletes what hangs off it: foreign keys hold, with their cascades', async () => {
    const { store } = ctx()
    const id = await addNumber(store, {})
    await store.apiKeys.create(id, 'admin', 'ops')
    const userBound = await store.users.create({ username: `bound-${id}`, password: 'pw-1234567', phoneNumberId: id })
    expect(userBound).toBe(true)
    await store.ctx.db.deleteFrom('phone_numbers').where('id', '=', id).execute()
    expect(await store.ctx.db.selectFrom('api_keys').select('key_hash').where('phone_number_id', '=', id).execute()).toEqual([])
    expect((await store.users.get(`bound-${id}`))?.phoneNumberId).toBeNull()
    const orphan = store.ctx.db.insertInto('api_keys').values({ key_hash: 'k', phone_number_id: 'pn-missing', scope: 'admin', label: 'x', created_at: 0 }).execute()
    await expect(orphan).rejects.toThrow()
  })

  it('classifies a unique violation, and leaves other errors unclassified', async () => {
    const { store, database } = ctx()
    const id = await addNumber(store, {})
    const duplicate = await store.ctx.db.insertInto('phone_numbers').values({
      id, cc: '1', number: '1', wa_id: 'x', display_name: 'x', status: 'x', gateway_status: 'x', settings: '{}', shard_count: 1, created_at: 0, updated_at: 0,
    }).execute().then(() => undefined, (err: unknown) => err)
    expect(duplicate).toBeDefined()
    expect(database.engine.classify(duplicate)).toBe('unique-violation')
    expect(database.engine.classify(new Error('boom'))).toBeUndefined()
  })
})

describe('database URLs', () => {
  it('name their engine by scheme', () => {
    expect(engineOfUrl('postgres://u@h/db')).toBe('postgres')
    expect(engineOfUrl('postgresql://u@h/db')).toBe('postgres')
    expect(engineOfUrl('mysql://u@h:3306/db')).toBe('mysql')
    expect(engineOfUrl('sqlite:///tmp/x')).toBeUndefined()
  })
})
