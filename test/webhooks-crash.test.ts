import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { systemClock } from '../src/clock.js'
import type { Database, Dialect } from '../src/store/database.js'
import { Sealer } from '../src/store/sealer.js'
import { Store } from '../src/store/store.js'
import { WebhookDispatcher } from '../src/webhooks/index.js'
import { fixtureDatabaseEnv } from './fixtures/fixture-database.js'
import { createTestDatabase, DIALECTS } from './helpers/databases.js'
import { addNumber, captureLogger, eventIds, events, Receiver, type ReceivedRequest } from './webhooks-harness.js'

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const TOTAL = 300
const KILL_AFTER = 60
const LEASE_MS = 1500

/** A database the child process can open too: a SQLite file, its own PostgreSQL schema or MySQL database. */
async function sharedDatabase(dialect: Dialect): Promise<{ database: Database; env: Record<string, string>; cleanup: () => Promise<void> }> {
  const t = await createTestDatabase(dialect, { label: 'webhooks-crash' })
  const env = fixtureDatabaseEnv({ file: t.file, url: t.server?.url, schema: t.server?.schema })
  return { database: t.database, env, cleanup: () => t.cleanup() }
}

/** Re-checks a database condition until it holds (nothing to subscribe to in the database). */
async function until(condition: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

for (const dialect of DIALECTS) {
  describe(`webhook delivery across a crash [${dialect}]`, () => {
    const cleanups: (() => Promise<void>)[] = []
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c()
    })

    it('loses nothing when the dispatcher process is killed with SIGKILL mid-stream and another starts', async () => {
      const shared = await sharedDatabase(dialect)
      cleanups.push(shared.cleanup)
      const key = randomBytes(32)
      const store = Store.open(shared.database, new Sealer(key), systemClock)
      const receiver = await Receiver.start()
      cleanups.push(() => receiver.close())

      const id = await addNumber(store, { url: receiver.url() })
      const all = events(TOTAL, 'crash').map((e) => (e.type === 'status' ? e.status.id : ''))
      await store.transaction((tx) => tx.callbacks.enqueueMany(id, events(TOTAL, 'crash')))

      const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/webhooks-dispatcher-child.ts'], {
        cwd: ROOT,
        env: { ...process.env, ...shared.env, WABOX_FIXTURE_KEY: key.toString('hex'), WABOX_FIXTURE_LEASE_MS: String(LEASE_MS) },
        stdio: ['ignore', 'ignore', 'inherit'],
      })
      cleanups.push(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      })
      let killed = false
      const answeredBeforeKill = new Set<ReceivedRequest>()
      receiver.respond = async (req) => {
        if (!killed && receiver.requests.length >= KILL_AFTER) {
          // this request and every other one in flight now never gets its 200
          killed = true
          child.kill('SIGKILL')
        }
        await new Promise((resolve) => setTimeout(resolve, 5)) // a slow endpoint
        if (!killed) answeredBeforeKill.add(req)
        return 200
      }

      const [, signal] = await once(child, 'exit') as [number | null, NodeJS.Signals | null]
      expect(signal).toBe('SIGKILL')
      const beforeRestart = receiver.requests.length
      const unanswered = receiver.requests.filter((r) => !answeredBeforeKill.has(r))

      // a fresh dispatcher on the same database; the dead one's claims come back after their lease
      const restarted = new WebhookDispatcher({
        store, clock: systemClock, logger: captureLogger().logger, allowInsecureLoopback: true, pollIntervalMs: 50, leaseMs: LEASE_MS, requestTimeoutMs: 1000,
      })
      restarted.start()
      const received = () => new Set(receiver.requests.flatMap((r) => eventIds(r.json)))
      await receiver.until(() => received().size === TOTAL, `all ${TOTAL} events received`, 20_000)
      // events whose 200 the dead child never recorded come again once its lease ends
      await until(async () => (await store.callbacks.pendingCount(id)) === 0, 'queue drained', 20_000)
      await restarted.stop(5000)

      expect([...received()].sort()).toEqual(all)
      expect(await store.callbacks.pendingCount(id)).toBe(0)
      const rows = await shared.database.db.selectFrom('callbacks').select(['status']).execute()
      expect(rows.filter((r) => r.status === 'done')).toHaveLength(TOTAL)

      // what was in flight at the kill never got a 200, and was sent again after the restart
      const afterRestart = new Set(receiver.requests.slice(beforeRestart).flatMap((r) => eventIds(r.json)))
      const heldIds = unanswered.flatMap((r) => eventIds(r.json))
      expect(heldIds.length).toBeGreaterThan(0)
      for (const heldId of heldIds) expect(afterRestart.has(heldId)).toBe(true)
    })
  })
}
