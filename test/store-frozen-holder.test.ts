import { sql } from 'kysely'
import { expect, it } from 'vitest'
import { openDatabase } from '../src/store/database.js'
import { Store } from '../src/store/store.js'
import { describeEachDatabase } from './helpers/databases.js'
import { eventually } from './helpers/wabox-process.js'
import { addNumber } from './webhooks-harness.js'

/**
 * A CoreApp frozen (SIGSTOP, a paused VM) while its commit holds the lease row locked, and
 * connections the server ends: both happen to a cluster on a server database. SQLite has one
 * process and one writer, so neither applies to it.
 */
describeEachDatabase('a frozen lease holder', (ctx, dialect) => {
  it.skipIf(dialect === 'sqlite')('neither stalls another node taking the lease nor keeps it once the server ends its transaction', async () => {
    const { store, clock, sealer, server } = ctx()
    const id = await addNumber(store, {})
    expect(await store.shardLeases.acquire(id, 0, 'a', 1000)).toBe(true)

    const frozenDb = openDatabase({ ...server!, idleTransactionTimeoutMs: 1000 })
    const frozen = Store.open(frozenDb, sealer, clock)
    let thaw!: () => void
    const stopped = new Promise<void>((resolve) => (thaw = resolve))
    let fenced!: () => void
    const fence = new Promise<void>((resolve) => (fenced = resolve))
    const commit = frozen.transaction(async (tx) => {
      expect(await tx.shardLeases.holds(id, 0, 'a')).toBe(true)
      fenced()
      await stopped // the process stops answering with the lease row locked
    })
    await fence
    clock.tick(1000)

    // the lease has expired, but its row is locked: another node skips it instead of waiting
    expect(await store.shardLeases.acquire(id, 0, 'b', 1000)).toBe(false)
    // the server ends the idle transaction, and the next pass takes the lease
    await eventually(async () => ((await store.shardLeases.acquire(id, 0, 'b', 1000)) ? true : undefined), 15_000)
    expect(await store.shardLeases.holds(id, 0, 'b')).toBe(true)

    thaw()
    await expect(commit).rejects.toThrow()
    // the thawed node lost its connection, not its store: it reads again, and holds nothing
    expect(await frozen.shardLeases.holds(id, 0, 'a')).toBe(false)
    await frozenDb.close()
  }, 30_000)

  it.skipIf(dialect === 'sqlite')('a connection the server ends is replaced: the next statement works', async () => {
    const { database, server } = ctx()
    const other = openDatabase({ ...server!, poolSize: 1 })
    const own = dialect === 'postgres' ? sql<{ id: number }>`select pg_backend_pid() as id` : sql<{ id: number }>`select connection_id() as id`
    const before = (await own.execute(other.db)).rows[0]!.id
    await (dialect === 'postgres' ? sql`select pg_terminate_backend(${before})` : sql.raw(`kill ${Number(before)}`)).execute(database.db)
    const alive = dialect === 'postgres'
      ? sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where pid = ${before}`
      : sql<{ n: number }>`select count(*) as n from information_schema.processlist where id = ${before}`
    await eventually(async () => (Number((await alive.execute(database.db)).rows[0]!.n) === 0 ? true : undefined), 10_000)
    // No 'error' event escapes (it would end the process). The pool may still hand out the ended
    // connection once, before its socket reports the end: that statement fails as connection-lost,
    // and the pool drops the connection. The one after it runs on a new connection.
    const failures: unknown[] = []
    const after = await eventually(async () => {
      try {
        return (await own.execute(other.db)).rows[0]!.id
      } catch (err) {
        failures.push(err)
        return undefined
      }
    }, 10_000)
    expect(failures.length).toBeLessThanOrEqual(1)
    for (const err of failures) expect(database.engine.classify(err)).toBe('connection-lost')
    expect(after).not.toBe(before)
    await other.close()
  })
})
