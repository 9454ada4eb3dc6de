import { performance } from 'node:perf_hooks'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Store } from '../src/store/store.js'
import { CLOUD_POSTS_IN_FLIGHT } from '../src/webhooks/delivery-config.js'
import { WebhookDispatcher, type WebhookDispatcherOptions } from '../src/webhooks/index.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from './helpers/databases.js'
import { addCloudAccount, addCloudNumber, addNumber, captureLogger, eventIds, events, gate, Receiver, statusEvent } from './webhooks-harness.js'

for (const dialect of DIALECTS) {
  describe(`webhook concurrency and isolation [${dialect}]`, () => {
    let db: TestDatabase
    const cleanups: (() => Promise<void>)[] = []

    beforeEach(async () => {
      db = await createTestDatabase(dialect, { label: 'webhooks-concurrency' })
    })
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c()
      await db.cleanup()
    })

    async function receiver(): Promise<Receiver> {
      const r = await Receiver.start()
      cleanups.push(() => r.close())
      return r
    }

    function dispatcher(opts: Partial<WebhookDispatcherOptions> = {}): WebhookDispatcher {
      const d = new WebhookDispatcher({
        store: db.store, clock: db.clock, logger: captureLogger().logger, allowInsecureLoopback: true, pollIntervalMs: 50, ...opts,
      })
      cleanups.push(() => d.stop(500))
      return d
    }

    for (const cap of [6, 12] as const) {
      it(`never has more than max_concurrent_requests = ${cap} POSTs open to a number`, async () => {
        const r = await receiver()
        const hold = gate()
        r.respond = async () => {
          await hold.wait
          return 200
        }
        const id = await addNumber(db.store, { url: r.url(), max_concurrent_requests: cap })
        await db.store.callbacks.enqueueMany(id, events(cap * 4))
        const d = dispatcher()
        const first = d.runOnce()
        await r.until(() => r.active === cap, `${cap} requests open`)
        // with every slot taken, another pass claims nothing and sends nothing
        expect(await d.runOnce()).toBe(0)
        expect(r.requests).toHaveLength(cap)
        hold.open()
        expect(await first).toBe(cap)

        // the loop, draining the rest against a slow endpoint, stays within the cap too
        r.respond = () => new Promise((resolve) => setTimeout(() => resolve(200), 5))
        d.start()
        await r.until(() => r.requests.length === cap * 4 && r.active === 0, 'all delivered')
        expect(r.maxActive).toBe(cap)
        expect(new Set(r.requests.flatMap((q) => eventIds(q.json))).size).toBe(cap * 4)
      })
    }

    it('a Cloud-hosted number, one event per POST, has 32 POSTs open to its endpoint whatever max_concurrent_requests says', async () => {
      const r = await receiver()
      const hold = gate()
      r.respond = async () => {
        await hold.wait
        return 200
      }
      const account = await addCloudAccount(db.store)
      await db.store.webhookSubscriptions.setApp(account.appId, { url: r.url('/app'), verifyToken: 'vt', fields: ['messages'] })
      const id = await addCloudNumber(db.store, account, { url: null, max_concurrent_requests: 6 })
      await db.store.callbacks.enqueueMany(id, events(40))
      const d = dispatcher()
      const first = d.runOnce()
      await r.until(() => r.active === CLOUD_POSTS_IN_FLIGHT, `${CLOUD_POSTS_IN_FLIGHT} requests open`)
      expect(await d.runOnce()).toBe(0)
      expect(r.requests).toHaveLength(32)
      hold.open()
      expect(await first).toBe(32)
      expect(await d.runOnce()).toBe(8)
      expect(new Set(r.requests.flatMap((q) => eventIds(q.json))).size).toBe(40)
    })

    it('a hanging endpoint of one number does not delay another number', async () => {
      const hanging = await receiver()
      hanging.respond = () => new Promise<number>(() => undefined)
      const healthy = await receiver()
      const a = await addNumber(db.store, { url: hanging.url() })
      const b = await addNumber(db.store, { url: healthy.url() })
      // A's backlog is older, so a FIFO queue would serve it first
      await db.store.callbacks.enqueueMany(a, events(50, 'a'))
      await db.store.callbacks.enqueueMany(b, events(20, 'b'))
      const d = dispatcher({ requestTimeoutMs: 30_000, leaseMs: 60_000 })
      d.start()
      // well inside the 30 s request timeout: B does not wait for A's hung POSTs
      await healthy.until(() => healthy.requests.length === 20 && healthy.active === 0, 'B delivered', 10_000)
      await hanging.until(() => hanging.active === 6, "A's six POSTs open")
      expect(hanging.requests).toHaveLength(6)

      // stop() gives up on the hung requests after its timeout and hands their callbacks back
      const stopping = performance.now()
      await d.stop(200)
      expect(performance.now() - stopping).toBeLessThan(10_000)
      expect(await db.store.callbacks.pendingCount(b)).toBe(0)
      const pending = (await db.store.callbacks.list(a, 'pending', { limit: 500 })).items
      expect(pending).toHaveLength(50)
      expect(pending.every((p) => p.attempts === 0 && p.inFlightUntil === null && p.nextAttemptAt <= db.clock.now())).toBe(true)
    })

    it('wake() after an enqueue delivers without waiting for the poll interval', async () => {
      const r = await receiver()
      const id = await addNumber(db.store, { url: r.url() })
      await db.store.callbacks.enqueue(id, statusEvent('wamid.first'))
      const d = dispatcher({ pollIntervalMs: 60_000 })
      d.start()
      // the first pass has run; the next poll is a minute away
      await r.until(() => r.requests.length === 1 && r.active === 0, 'first delivery')
      await db.store.callbacks.enqueue(id, statusEvent('wamid.second'))
      d.wake()
      await r.until(() => r.requests.length === 2, 'woken delivery', 5000)
      expect(eventIds(r.requests[1]?.json)).toEqual(['wamid.second'])
    })

    if (dialect !== 'sqlite') {
      it(`two dispatchers on one ${dialect} database share the queue without claiming the same callback`, async () => {
        const r = await receiver()
        r.respond = () => new Promise((resolve) => setTimeout(() => resolve(200), 2))
        const ids = await Promise.all([1, 2, 3].map(() => addNumber(db.store, { url: r.url(), max_concurrent_requests: 24 })))
        for (const id of ids) await db.store.callbacks.enqueueMany(id, events(100, id))
        const second = db.reopen()
        cleanups.push(() => second.close())
        const one = dispatcher({ batchSize: 10 })
        const two = dispatcher({ batchSize: 10, store: Store.open(second, db.sealer, db.clock) })
        one.start()
        two.start()
        await r.until(() => r.requests.length >= 300 && r.active === 0, 'all 300 delivered', 20_000)
        const seen = r.requests.flatMap((q) => eventIds(q.json))
        expect(seen).toHaveLength(300)
        expect(new Set(seen).size).toBe(300)
        await one.stop()
        await two.stop()
        expect(await db.store.callbacks.pendingCount()).toBe(0)
        expect(await db.database.db.selectFrom('callback_attempts').select('seq').execute()).toHaveLength(300)
      })
    }
  })
}
