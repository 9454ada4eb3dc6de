import { spawn } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Kysely, sql } from 'kysely'
import { afterEach, expect, it } from 'vitest'
import { openSqlite } from '../src/sqlite.js'
import { WaboxSqliteDialect } from '../src/sqlite-dialect.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

// Another connection holds the write lock, as the checkpoint thread's RESTART does. A deferred
// transaction that reads first would fail at once with SQLITE_BUSY when it comes to write.
it('a transaction that reads and then writes waits for another connection holding the write lock', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-dialect-'))
  dirs.push(dir)
  const file = path.join(dir, 'db.sqlite')
  const database = openSqlite(file, { synchronous: 'NORMAL', checkpoints: false })
  const db = new Kysely<{ t: { n: number } }>({ dialect: new WaboxSqliteDialect({ database }) })
  await sql`create table t (n integer not null)`.execute(db)
  await sql`insert into t (n) values (1)`.execute(db)

  const holder = spawn(process.execPath, ['-e', `
    const db = new (require('better-sqlite3'))(${JSON.stringify(file)})
    db.prepare('BEGIN IMMEDIATE').run()
    process.stdout.write('locked\\n')
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300)
    db.prepare('COMMIT').run()
    db.close()
  `], { stdio: ['ignore', 'pipe', 'inherit'] })
  await once(holder.stdout!, 'data')
  try {
    await db.transaction().execute(async (tx) => {
      const { n } = (await sql<{ n: number }>`select max(n) as n from t`.execute(tx)).rows[0]!
      await sql`insert into t (n) values (${n + 1})`.execute(tx)
    })
    const rows = await sql<{ n: number }>`select n from t order by n`.execute(db)
    expect(rows.rows.map((r) => r.n)).toEqual([1, 2])
  } finally {
    if (holder.exitCode === null) await once(holder, 'exit')
    await db.destroy()
    await database.stopped()
  }
})
