import prom from 'prom-client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { WebhookDispatcher, WebhookService } from '../src/webhooks/index.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from './helpers/databases.js'
import { addNumber, captureLogger, events, Receiver, statusEvent } from './webhooks-harness.js'

for (const dialect of DIALECTS) {
  describe(`webhook retries, dead letters and visibility [${dialect}]`, () => {
    let db: TestDatabase
    let receiver: Receiver
    let dispatcher: WebhookDispatcher
    let registry: prom.Registry
    let log: ReturnType<typeof captureLogger>

    beforeEach(async () => {
      db = await createTestDatabase(dialect, { label: 'webhooks-retry' })
      receiver = await Receiver.start()
      registry = new prom.Registry()
      log = captureLogger()
      dispatcher = new WebhookDispatcher({ store: db.store, clock: db.clock, logger: log.logger, registry, allowInsecureLoopback: true })
    })
    afterEach(async () => {
      await dispatcher.stop(1000)
      await receiver.close()
      await db.cleanup()
    })

    /** Runs the dispatcher at each due time and returns the delays between attempts. */
    async function attemptDelays(phoneNumberId: string, attempts: number): Promise<number[]> {
      const times: number[] = []
      for (let i = 0; i < attempts; i++) {
        const [item] = [...(await db.store.callbacks.list(phoneNumberId, 'pending')).items]
        if (!item) break
        // one millisecond early nothing happens; on time the attempt is made
        db.clock.setTime(item.nextAttemptAt - 1)
        if (i > 0) expect(await dispatcher.runOnce()).toBe(0)
        db.clock.setTime(item.nextAttemptAt)
        expect(await dispatcher.runOnce()).toBe(1)
        times.push(item.nextAttemptAt)
      }
      return times.slice(1).map((at, i) => at - (times[i] ?? 0))
    }

    it('tells its owner when attempts are recorded, after they can be read (the Hub shows them then)', async () => {
      receiver.respond = () => 500
      const id = await addNumber(db.store, { url: receiver.url(), format: 'onprem' }, { callback_persist: true })
      let seen!: Promise<number>
      const told = new WebhookDispatcher({
        store: db.store, clock: db.clock, logger: log.logger, allowInsecureLoopback: true,
        onRecorded: () => { seen = db.store.callbacks.list(id, 'failed').then((l) => l.items.length) },
      })
      await db.store.callbacks.enqueue(id, statusEvent('wamid.told'))
      expect(await told.runOnce()).toBe(1)
      await told.stop(1000)
      expect(await seen).toBe(1)
    })

    it('On-Prem: linear backoff, step × attempts, capped, then forever at the cap; a 200 ends it', async () => {
      receiver.respond = () => 500
      const id = await addNumber(db.store, { url: receiver.url(), format: 'onprem' },
        { callback_persist: true, callback_backoff_delay_ms: 1000, max_callback_backoff_delay_ms: 3500 })
      await db.store.callbacks.enqueue(id, statusEvent('wamid.linear'))
      expect(await attemptDelays(id, 7)).toEqual([1000, 2000, 3000, 3500, 3500, 3500])
      const [item] = (await db.store.callbacks.list(id, 'failed')).items
      expect(item?.attempts).toBe(7)
      expect(item?.nextAttemptAt).toBe(db.clock.now() + 3500)
      const log7 = await db.store.callbacks.attempts(id, item?.seq ?? 0)
      expect(log7).toHaveLength(7)
      expect(log7.every((a) => a.httpStatus === 500 && a.error?.startsWith('HTTP 500'))).toBe(true)

      receiver.respond = () => 200
      db.clock.setTime(item?.nextAttemptAt ?? 0)
      expect(await dispatcher.runOnce()).toBe(1)
      expect(await db.store.callbacks.pendingCount(id)).toBe(0)
      expect(receiver.requests).toHaveLength(8)
    })

    it('Cloud: exponential backoff until max_retry_ms, then dead-lettered; replay delivers it', async () => {
      receiver.respond = () => 503
      const id = await addNumber(db.store, { url: receiver.url(), format: 'cloud', max_retry_ms: 20_000 })
      await db.store.callbacks.enqueue(id, statusEvent('wamid.exp'))
      // 1 s, 2 s, 4 s, 8 s, then the last try lands on the 20 s deadline
      expect(await attemptDelays(id, 10)).toEqual([1000, 2000, 4000, 8000, 5000])
      expect(await db.store.callbacks.pendingCount(id)).toBe(0)
      const dead = await db.store.callbacks.list(id, 'dead')
      expect(dead.items).toHaveLength(1)
      expect(dead.items[0]).toMatchObject({ status: 'dead', attempts: 6, deadAt: db.clock.now(), lastError: expect.stringMatching(/^HTTP 503/) as unknown })
      expect(log.lines.some((l) => l.level === 50 && /dead-lettered/.test(l.msg))).toBe(true)
      // dead letters are never attempted again by themselves
      db.clock.tick(30 * 86_400_000)
      expect(await dispatcher.runOnce()).toBe(0)

      receiver.respond = () => 200
      const wakes: number[] = []
      const service = new WebhookService({ store: db.store, wake: () => wakes.push(1) })
      await expect(service.replay(id, 999_999)).rejects.toMatchObject({ code: 1006 })
      await service.replay(id, dead.items[0]?.seq ?? 0)
      expect(wakes).toHaveLength(1)
      expect(await dispatcher.runOnce()).toBe(1)
      expect(await db.store.callbacks.pendingCount(id)).toBe(0)
      expect((await service.listDead(id)).items).toHaveLength(0)
    })

    it('replays all dead letters of one number only, each with a fresh retry window', async () => {
      receiver.respond = () => 500
      const a = await addNumber(db.store, { url: receiver.url(), format: 'cloud', max_retry_ms: 0 })
      const b = await addNumber(db.store, { url: receiver.url(), format: 'cloud', max_retry_ms: 0 })
      await db.store.callbacks.enqueueMany(a, events(3, 'a'))
      await db.store.callbacks.enqueueMany(b, events(2, 'b'))
      expect(await dispatcher.runOnce()).toBe(5)
      const service = new WebhookService({ store: db.store })
      expect((await service.listDead(a)).items).toHaveLength(3)
      await db.store.numbers.saveSettings(a, { webhooks: { url: receiver.url(), format: 'cloud', max_retry_ms: 60_000, max_concurrent_requests: 6, batch_size: 1, headers: {} } })
      expect(await service.replayAllDead(a)).toBe(3)
      expect((await service.listDead(b)).items).toHaveLength(2)
      // fails again, but the new window (from the replay) keeps it pending
      expect(await dispatcher.runOnce()).toBe(3)
      expect((await service.listFailed(a)).items.map((i) => i.attempts)).toEqual([1, 1, 1])
    })

    it('lists pending / failed / dead with paging, and shows each attempt', async () => {
      const id = await addNumber(db.store, { url: receiver.url() })
      await db.store.callbacks.enqueueMany(id, events(7))
      const service = new WebhookService({ store: db.store })
      const first = await service.listPending(id, { limit: 3 })
      expect(first.items.map((i) => (i.event?.type === 'status' ? i.event.status.id : ''))).toEqual(['evt-00000', 'evt-00001', 'evt-00002'])
      const second = await service.listPending(id, { limit: 3, after: first.next ?? 0 })
      const third = await service.listPending(id, { limit: 3, after: second.next ?? 0 })
      expect([second.items.length, third.items.length, third.next]).toEqual([3, 1, null])
      expect((await service.listFailed(id)).items).toHaveLength(0)
      receiver.respond = () => 500
      // six at a time: the number's max_concurrent_requests
      expect(await dispatcher.runOnce()).toBe(6)
      expect(await dispatcher.runOnce()).toBe(1)
      expect((await service.listFailed(id, { limit: 500 })).items).toHaveLength(7)
      const attempts = await service.attempts(id, first.items[0]?.seq ?? 0)
      expect(attempts).toEqual([{ at: db.clock.now(), httpStatus: 500, latencyMs: expect.any(Number) as unknown, error: expect.stringMatching(/^HTTP 500/) as unknown }])
    })

    it('reports stats for /v1/stats/app and Prometheus metrics', async () => {
      const id = await addNumber(db.store, { url: receiver.url() })
      await db.store.callbacks.enqueueMany(id, events(3))
      let calls = 0
      receiver.respond = () => (++calls === 1 ? 500 : 200)
      await dispatcher.runOnce()
      db.clock.tick(10_000)
      await dispatcher.runOnce()
      await db.store.callbacks.enqueue(id, statusEvent('wamid.waiting'))

      const stats = await new WebhookService({ store: db.store }).stats(id)
      expect(stats.callback_queue_size).toEqual({ type: 'gauge', help: expect.any(String) as unknown, data: [{ value: 1 }] })
      expect(stats.callback_requests.data).toEqual(expect.arrayContaining([
        { labels: { result: 'success', type: 'status_change' }, value: 3 },
        { labels: { result: '500', type: 'status_change' }, value: 1 },
      ]))

      const text = await registry.metrics()
      expect(text).toContain('wabox_callback_attempts_total{result="success"} 3')
      expect(text).toContain('wabox_callback_attempts_total{result="500"} 1')
      expect(text).toContain(`wabox_callback_queue_depth{phone_number_id="${id}"} 1`)
      expect(text).toContain('wabox_callback_delivery_seconds_count 3')
      // the retried one took 10 s from enqueue to its 200
      expect(text).toMatch(/wabox_callback_delivery_seconds_sum 10(\.0+)?\n/)
    })

    it('a claim whose dispatcher vanished comes back when its lease ends; the stale owner cannot reschedule it', async () => {
      const id = await addNumber(db.store, { url: receiver.url() })
      await db.store.callbacks.enqueueMany(id, events(2))
      const [first, second] = await db.store.callbacks.claim(id, 2, 60_000, 'crashed-dispatcher')
      expect(await dispatcher.runOnce()).toBe(0)
      db.clock.tick(59_999)
      expect(await dispatcher.runOnce()).toBe(0)
      db.clock.tick(1)
      expect(await dispatcher.runOnce()).toBe(2)
      expect(await db.store.callbacks.pendingCount(id)).toBe(0)
      // the old owner waking up late: its failure does not reopen what was delivered
      await db.store.transaction((tx) => tx.callbacks.record([first, second].map((row) => ({
        seq: row?.seq ?? 0, phoneNumberId: id, at: db.clock.now(), httpStatus: 500, latencyMs: 1, error: 'HTTP 500', next: { kind: 'retry' as const, at: db.clock.now() },
      })), 'crashed-dispatcher'))
      expect(await db.store.callbacks.pendingCount(id)).toBe(0)
    })

    it('purges delivered callbacks past retention with their attempt log', async () => {
      const id = await addNumber(db.store, { url: receiver.url() })
      await db.store.callbacks.enqueueMany(id, events(4))
      await dispatcher.runOnce()
      db.clock.tick(1000)
      expect(await db.store.callbacks.purgeDelivered(db.clock.now() - 2000, 100)).toBe(0)
      expect(await db.store.callbacks.purgeDelivered(db.clock.now(), 3)).toBe(3)
      expect(await db.store.callbacks.purgeDelivered(db.clock.now(), 3)).toBe(1)
      expect(await db.store.callbacks.requestCounts(id)).toEqual([])
    })
  })
}
