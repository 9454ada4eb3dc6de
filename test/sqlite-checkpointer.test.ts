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
})
