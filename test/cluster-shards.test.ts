import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CoreApp } from '../src/coreapp/coreapp.js'
import { BUSINESS, startHarness, statusesOf, waitFor, type Harness } from './coreapp-harness.js'
import { DIALECTS } from './helpers/databases.js'

/** Who holds which shard of the business number now. */
async function holders(h: Harness): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>()
  for (const lease of await h.store.shardLeases.list(BUSINESS.id)) out.set(lease.owner, [...(out.get(lease.owner) ?? []), lease.shard])
  return out
}

/** Every shard of `count` held, none twice, no node above its fair share of the `nodes` live ones. */
async function spread(h: Harness, count: number, nodes: number): Promise<Map<string, number[]> | undefined> {
  const held = await holders(h)
  const shards = [...held.values()].flat().sort((a, b) => a - b)
  if (shards.join() !== Array.from({ length: count }, (_, i) => i).join()) return undefined
  if ([...held.values()].some((s) => s.length > Math.ceil(count / nodes))) return undefined
  if (held.size !== Math.min(count, nodes)) return undefined
  return held
}

for (const dialect of DIALECTS) {
  describe(`multiconnect over several CoreApps [${dialect}]`, () => {
    let h: Harness
    const apps = new Map<string, CoreApp>()

    beforeAll(async () => {
      h = await startHarness(dialect, { phones: 4, cluster: true })
      apps.set('coreapp-a', h.app)
      for (const id of ['coreapp-b', 'coreapp-c']) apps.set(id, await h.startCoreApp(id))
      for (const p of h.phones) await p.send({ to: BUSINESS.waId, type: 'text', text: 'hi' })
      await waitFor(async () => (await h.callbacks()).filter((e) => e.type === 'message').length === h.phones.length, 'windows')
    }, 60_000)
    afterAll(async () => {
      await h?.cleanup()
    })

    /** Queues `count` texts to each phone and waits until each phone has them all. */
    async function traffic(label: string, count: number): Promise<Map<string, string[]>> {
      const sent = new Map<string, string[]>()
      for (let i = 0; i < count; i++) {
        for (const p of h.phones) sent.set(p.waId, [...(sent.get(p.waId) ?? []), await h.queue({ to: p.waId, type: 'text', text: { body: `${label} ${i}` } })])
      }
      return sent
    }

    async function allDelivered(sent: Map<string, string[]>): Promise<void> {
      const ids = [...sent.values()].flat()
      await waitFor(async () => {
        const events = await h.callbacks()
        return ids.every((id) => statusesOf(events, id).some((s) => s.status === 'delivered'))
      }, 'every message delivered', 30_000)
      for (const p of h.phones) {
        const received = (await p.inbox()).map((m) => m.id).filter((id) => ids.includes(id))
        // once each, in the order queued
        expect(received).toEqual(sent.get(p.waId))
      }
      const events = await h.callbacks()
      for (const id of ids) expect(statusesOf(events, id).filter((s) => s.status === 'delivered')).toHaveLength(1)
    }

    it('spreads 1, 2, 4, 8, 16 and 32 shards over the live CoreApps, and traffic flows on each count', async () => {
      for (const count of [1, 2, 4, 8, 16, 32]) {
        await h.app.bridge.setShards(BUSINESS.id, count)
        const held = await waitFor(() => spread(h, count, 3), `${count} shards spread over 3 CoreApps`)
        expect([...held.keys()].every((owner) => apps.has(owner))).toBe(true)
        await allDelivered(await traffic(`${count} shards`, 2))
      }
    }, 120_000)

    it('re-balances when a CoreApp leaves and when one joins, without loss, duplicates or reordering', async () => {
      const first = await traffic('before leaving', 3)
      await apps.get('coreapp-b')!.stop()
      apps.delete('coreapp-b')
      const second = await traffic('after leaving', 3)
      await waitFor(() => spread(h, 32, 2), '32 shards over the 2 CoreApps left')
      apps.set('coreapp-d', await h.startCoreApp('coreapp-d'))
      const third = await traffic('after joining', 3)
      const held = await waitFor(() => spread(h, 32, 3), '32 shards over 3 CoreApps again')
      expect(held.get('coreapp-d')?.length).toBeGreaterThan(0)
      const merged = new Map(h.phones.map((p) => [p.waId, [first, second, third].flatMap((m) => m.get(p.waId) ?? [])]))
      await allDelivered(merged)
    }, 120_000)
  })
}
