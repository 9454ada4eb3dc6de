import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import SQLite from 'better-sqlite3'
import type { SqliteDatabase } from 'kysely'
import { privateFile } from './private-files.js'

export interface SqliteOptions {
  /** NORMAL survives a killed process (WAL); FULL also a power cut, at one fsync per commit. */
  synchronous: 'NORMAL' | 'FULL'
  foreignKeys?: boolean
  /** How often the background thread copies the WAL into the database file. */
  checkpointEveryMs?: number
  /** false: no checkpoint thread; another connection to the file checkpoints (default true). */
  checkpoints?: boolean
  /** The WAL's bound: past it the thread forces a restart of the log, and a reset log is truncated to it. */
  walLimitBytes?: number
  /** The write gate other threads of this process share for the file: a forced checkpoint takes it too. */
  gate?: SqliteGate
}

/** 64 MiB: about 16,000 pages, a few seconds of writes at full load. */
export const WAL_LIMIT_BYTES = 64 * 1024 * 1024

/** A SQLite connection for Kysely whose close also stops its checkpoint thread. */
export interface WalDatabase extends SqliteDatabase {
  /** Resolves once the checkpoint thread has exited; after `close()`, nothing touches the files any more. */
  stopped(): Promise<void>
}

/**
 * Opens a SQLite file in WAL mode for one Kysely instance: prepared statements cached, and
 * WAL checkpoints moved to a worker thread with its own connection. better-sqlite3 is
 * synchronous, so an automatic checkpoint (copy up to 4 MB of pages and fsync, 20–40 ms
 * here) used to stall the event loop inside whichever commit crossed 1,000 WAL pages.
 * Durability is unchanged: a commit is durable once in the WAL, whoever checkpoints it.
 * Shared by the business store and the network's own database.
 */
export function openSqlite(file: string, opts: SqliteOptions): WalDatabase {
  // SQLite gives a new -wal and -shm the mode of the database file; older ones are narrowed
  privateFile(file, [`${file}-wal`, `${file}-shm`])
  const sqlite = new SQLite(file)
  try {
    // the first statement reads the file: a corrupt one fails here
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma(`synchronous = ${opts.synchronous}`)
    if (opts.foreignKeys) sqlite.pragma('foreign_keys = ON')
    sqlite.pragma('busy_timeout = 5000')
    sqlite.pragma('wal_autocheckpoint = 0')
    sqlite.pragma(`journal_size_limit = ${opts.walLimitBytes ?? WAL_LIMIT_BYTES}`)
  } catch (err) {
    sqlite.close()
    throw err
  }
  const checkpointer = opts.checkpoints === false ? noCheckpointer : startCheckpointer({ file, everyMs: opts.checkpointEveryMs ?? 500, walLimitBytes: opts.walLimitBytes ?? WAL_LIMIT_BYTES, gate: opts.gate?.buffer }, () => {
    // without the thread the WAL would grow without bound: checkpoint inline again
    if (sqlite.open) sqlite.pragma('wal_autocheckpoint = 1000')
  })
  const database = withStatementCache(sqlite, () => {
    checkpointer.stop()
    sqlite.close()
  })
  return { ...database, stopped: () => checkpointer.exited }
}

// Plain JavaScript, so it runs the same from the sources and from dist/. On 'stop' it closes
// its connection; being the last one, that close checkpoints and removes the WAL.
//
// A PASSIVE checkpoint never waits, so under steady writes it rarely copies the last frame
// before the next commit, and the log only restarts from its start once all of it was copied:
// the WAL grew by ~1.5 GB a minute at 1,000 msg/s. Past the limit, a RESTART checkpoint waits
// for the writers (in this process through the shared gate, so their threads wait without
// sleeping) and the readers, copies everything, and makes the next commit start the log anew.
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.file)
const pageSize = db.pragma('page_size', { simple: true })
const gate = workerData.gate ? new Int32Array(workerData.gate) : null
const gated = (fn) => {
  if (!gate) return fn()
  const ticket = Atomics.add(gate, 0, 1)
  for (;;) {
    const serving = Atomics.load(gate, 1)
    if (serving === ticket) break
    Atomics.wait(gate, 1, serving)
  }
  try {
    return fn()
  } finally {
    Atomics.add(gate, 1, 1)
    Atomics.notify(gate, 1)
  }
}
// writers wait while a RESTART is pending: it waits on a slow reader at most this long, then
// gives up until the next try
db.pragma('busy_timeout = 100')
// A reader's snapshot (a long query, a backup) makes every RESTART give up after holding the
// writers for that long: tries back off while one does, else SQLite's busy handler, which is
// not fair, can lose to a RESTART every interval until its own timeout fails the write.
const MAX_BACKOFF_MS = 5000
// The RESTART copies what PASSIVE has not, and the writers wait meanwhile: it runs only once
// PASSIVE is this close to the log's end. A burst (a thousand phones uploading pre-keys) outruns
// PASSIVE, and a RESTART copying and syncing all of it held writers past their busy timeout.
const RESTART_BACKLOG_PAGES = 1024
let backoffMs = 0
let nextRestart = 0
const timer = setInterval(() => {
  const [passive] = db.pragma('wal_checkpoint(PASSIVE)')
  if (passive.log * pageSize <= workerData.walLimitBytes || passive.log - passive.checkpointed > RESTART_BACKLOG_PAGES) return
  if (performance.now() < nextRestart) return
  const [restart] = gated(() => db.pragma('wal_checkpoint(RESTART)'))
  backoffMs = restart.busy ? Math.min(Math.max(2 * backoffMs, workerData.everyMs), MAX_BACKOFF_MS) : 0
  nextRestart = performance.now() + backoffMs
}, workerData.everyMs)
parentPort.once('message', () => {
  clearInterval(timer)
  db.close()
  parentPort.close()
})
`

interface CheckpointerData {
  file: string
  everyMs: number
  walLimitBytes: number
  gate: SharedArrayBuffer | undefined
}

const noCheckpointer = { stop: () => undefined, exited: Promise.resolve() }

function startCheckpointer(data: CheckpointerData, onGone: () => void): { stop(): void; exited: Promise<void> } {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3')
  const worker = new Worker(CHECKPOINTER, { eval: true, workerData: { ...data, driver }, execArgv: [] })
  let stopping = false
  worker.on('error', () => undefined)
  const exited = new Promise<void>((resolve) => worker.on('exit', () => {
    if (!stopping) onGone()
    resolve()
  }))
  // the thread must never keep an otherwise finished process alive
  worker.unref()
  return {
    stop: () => {
      stopping = true
      // until it has closed its connection, `stopped()` is pending: the process must wait for it
      worker.ref()
      worker.postMessage('stop')
    },
    exited,
  }
}

/**
 * Kysely's SQLite driver prepares every query anew; wabox runs a fixed set of queries
 * thousands of times a second, so prepared statements are reused by SQL text (the relay
 * measured ~1.8× more inserts/s; in the business store preparing was 9 % of CPU). Multi-row
 * statements come in many lengths, so the cache is least-recently-used: a hot statement is
 * never pushed out by a burst of one-off lengths. A cached statement still being iterated
 * (a streamed query) is busy, so streaming gets a fresh one.
 */
function withStatementCache(sqlite: SQLite.Database, close: () => void, max = 1000): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>()
  return {
    close,
    prepare: (sql: string) => {
      let stmt = cache.get(sql)
      if (stmt?.busy) return sqlite.prepare(sql)
      if (stmt) {
        cache.delete(sql)
      } else {
        stmt = sqlite.prepare(sql)
        if (cache.size >= max) cache.delete(cache.keys().next().value!)
      }
      cache.set(sql, stmt)
      return stmt
    },
  }
}

/**
 * One SQLite file written from two threads of a process (`wabox start`'s API and engine): a
 * first-come-first-served ticket lock in shared memory that each side holds for a transaction
 * or a write (store/database.ts), so a writer waits for the other side's commit without
 * blocking its thread. SQLite's own busy handler sleeps the whole thread in growing steps
 * (1, 2, 5, 10 … ms): the API thread spent a quarter of its time asleep there.
 */
export class SqliteGate {
  /** Pass to the other thread (workerData) to share the lock. */
  readonly buffer: SharedArrayBuffer
  readonly #counters: Int32Array

  constructor(buffer = new SharedArrayBuffer(8)) {
    this.buffer = buffer
    this.#counters = new Int32Array(buffer)
  }

  async acquire(): Promise<void> {
    const ticket = Atomics.add(this.#counters, NEXT, 1)
    for (;;) {
      const serving = Atomics.load(this.#counters, SERVING)
      if (serving === ticket) return
      const wait = Atomics.waitAsync(this.#counters, SERVING, serving)
      if (wait.async) await wait.value
    }
  }

  release(): void {
    Atomics.add(this.#counters, SERVING, 1)
    Atomics.notify(this.#counters, SERVING)
  }
}

const NEXT = 0
const SERVING = 1
