import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { remoteError, fromRemoteError } from '../src/cli/engine-messages.js'
import { OnPremCode, WaboxError } from '../src/errors/index.js'
import { SqliteGate } from '../src/sqlite.js'
import { openDatabase, type Database } from '../src/store/database.js'
import { migrate } from '../src/store/migrate.js'
import { Sealer } from '../src/store/sealer.js'
import { Store } from '../src/store/store.js'
import { systemClock } from '../src/clock.js'

/** A promise with its resolve exposed. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

describe('SqliteGate: two connections to one SQLite file take turns without blocking their thread', () => {
  const dirs: string[] = []
  const open: Database[] = []
  afterEach(async () => {
    for (const d of open.splice(0)) await d.close()
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
  })

  it('serves waiters first come, first served, each only once the holder releases', async () => {
    const buffer = new SharedArrayBuffer(8)
    const a = new SqliteGate(buffer)
    const b = new SqliteGate(buffer)
    const order: string[] = []
    const turn = async (gate: SqliteGate, name: string) => {
      await gate.acquire()
      order.push(name)
      gate.release()
    }
    await a.acquire()
    const second = turn(b, 'b')
    const third = turn(a, 'a again')
    // both wait asynchronously: this turn of the event loop goes on
    await new Promise<void>((resolve) => setImmediate(resolve))
    expect(order).toEqual([])
    a.release()
    await Promise.all([second, third])
    expect(order).toEqual(['b', 'a again'])
  })

  it("makes one connection's transaction wait for the other's commit, then see its rows", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-gate-'))
    dirs.push(dir)
    const file = path.join(dir, 'wabox.db')
    const gate = new SqliteGate()
    const first = openDatabase({ sqlitePath: file, gate })
    open.push(first)
    await migrate(first)
    const second = openDatabase({ sqlitePath: file, checkpoints: false, gate: new SqliteGate(gate.buffer) })
    open.push(second)
    const sealer = new Sealer(Buffer.alloc(32, 7))
    const api = Store.open(first, sealer, systemClock)
    const engine = Store.open(second, sealer, systemClock)

    const inside = deferred()
    const finish = deferred()
    const events: string[] = []
    const holder = engine.transaction(async (tx) => {
      await sql`CREATE TABLE probe (n INTEGER NOT NULL)`.execute(tx.ctx.db)
      await sql`INSERT INTO probe (n) VALUES (1)`.execute(tx.ctx.db)
      inside.resolve()
      await finish.promise
      events.push('engine committed')
    })
    await inside.promise
    const waiter = api.transaction(async (tx) => {
      events.push('api began')
      const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM probe`.execute(tx.ctx.db)
      await sql`INSERT INTO probe (n) VALUES (2)`.execute(tx.ctx.db)
      return rows[0]!.n
    })
    // the API side waits without blocking its thread: the event loop goes on
    await new Promise<void>((resolve) => setImmediate(resolve))
    expect(events).toEqual([])
    finish.resolve()
    await holder
    expect(await waiter).toBe(1)
    expect(events).toEqual(['engine committed', 'api began'])

    // a write outside a transaction waits its turn too
    const again = deferred()
    const finish2 = deferred()
    const third = engine.transaction(async (tx) => {
      await sql`INSERT INTO probe (n) VALUES (3)`.execute(tx.ctx.db)
      again.resolve()
      await finish2.promise
    })
    await again.promise
    let written = false
    const write = sql`INSERT INTO probe (n) VALUES (4)`.execute(api.ctx.db).then(() => (written = true))
    await new Promise<void>((resolve) => setImmediate(resolve))
    expect(written).toBe(false)
    finish2.resolve()
    await Promise.all([third, write])
    const { rows } = await sql<{ n: number }>`SELECT n FROM probe ORDER BY rowid`.execute(api.ctx.db)
    expect(rows.map((r) => r.n)).toEqual([1, 2, 3, 4])
  })
})

describe('engine thread errors', () => {
  it('keep the code, details and HTTP status of a WaboxError across the thread boundary', () => {
    const original = new WaboxError(OnPremCode.SERVICE_NOT_READY, 'the number is not connected to the network', { httpStatus: 503 })
    const back = fromRemoteError(structuredClone(remoteError(original)))
    expect(back).toBeInstanceOf(WaboxError)
    expect((back as WaboxError).code).toBe(OnPremCode.SERVICE_NOT_READY)
    expect((back as WaboxError).details).toBe('the number is not connected to the network')
    expect((back as WaboxError).httpStatus).toBe(503)
    expect(fromRemoteError(remoteError(new TypeError('boom'))).message).toBe('boom')
  })
})
