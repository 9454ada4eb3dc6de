import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { openSqlite } from '../src/sqlite.js'

describe('SQLite WAL checkpoints on a background thread', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
  })
  const fresh = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-wal-'))
    dirs.push(dir)
    return path.join(dir, 'db.sqlite')
  }
  const run = (db: ReturnType<typeof openSqlite>, sql: string, params: unknown[] = []) => db.prepare(sql).run(params)

  it('copies committed pages into the database file while the writer never checkpoints itself', async () => {
    const file = fresh()
    const db = openSqlite(file, { synchronous: 'NORMAL', checkpointEveryMs: 10 })
    expect(db.prepare('PRAGMA wal_autocheckpoint').all([])).toEqual([{ wal_autocheckpoint: 0 }])
    run(db, 'CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)')
    const before = fs.statSync(file).size
    for (let i = 0; i < 200; i++) run(db, 'INSERT INTO t (body) VALUES (?)', [Buffer.alloc(8192, i)])
    // only the thread can have grown the main file: 200 × 8 KiB of rows
    await vi.waitFor(() => expect(fs.statSync(file).size).toBeGreaterThan(before + 1_600_000), { timeout: 10_000, interval: 20 })
    db.close()
  })

  it('leaves no WAL behind after close, and every committed row readable', async () => {
    const file = fresh()
    const db = openSqlite(file, { synchronous: 'NORMAL', checkpointEveryMs: 10_000 })
    run(db, 'CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)')
    for (let i = 0; i < 100; i++) run(db, 'INSERT INTO t (n) VALUES (?)', [i])
    db.close()
    await vi.waitFor(() => expect(fs.existsSync(file + '-wal')).toBe(false), { timeout: 10_000, interval: 20 })
    const check = new SQLite(file, { readonly: true })
    expect(check.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 100 })
    check.close()
  })

  it('bounds the WAL under steady writes: once a reader that held the log back is gone, the log restarts and shrinks to the limit', async () => {
    const file = fresh()
    const limit = 1024 * 1024
    const db = openSqlite(file, { synchronous: 'NORMAL', checkpointEveryMs: 10, walLimitBytes: limit })
    run(db, 'CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)')
    const walBytes = () => fs.statSync(file + '-wal').size
    // a reader's snapshot keeps every frame after it in the log, whatever checkpoints run
    const reader = new SQLite(file, { readonly: true })
    reader.prepare('BEGIN').run()
    reader.prepare('SELECT count(*) FROM t').get()
    let writing = true
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        run(db, 'INSERT INTO t (body) VALUES (?)', [Buffer.alloc(4096, i)])
        if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
    })()
    try {
      await vi.waitFor(() => expect(walBytes()).toBeGreaterThan(8 * limit), { timeout: 20_000, interval: 10 })
      reader.prepare('COMMIT').run()
      // writes go on: only a forced restart lets the log start over, and the commit after it truncates the file
      await vi.waitFor(() => expect(walBytes()).toBeLessThanOrEqual(2 * limit), { timeout: 20_000, interval: 10 })
    } finally {
      writing = false
      await writer
      reader.close()
      db.close()
      await db.stopped()
    }
  })
})
