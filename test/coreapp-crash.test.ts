import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { systemClock } from '../src/clock.js'
import { CoreApp } from '../src/coreapp/coreapp.js'
import type { CallbackEvent } from '../src/domain/events.js'
import { messageId } from '../src/ids.js'
import { MediaVolume } from '../src/media/volume.js'
import { startNetworkServer } from '../src/network/index.js'
import { Phone } from '../src/phones/phone.js'
import { openDatabase, type Database, type Dialect } from '../src/store/database.js'
import { migrate } from '../src/store/migrate.js'
import { Sealer } from '../src/store/sealer.js'
import { Store } from '../src/store/store.js'
import { shardOf } from '../src/domain/shard.js'
import { BUSINESS, logger, registerBusiness, waitFor } from './coreapp-harness.js'
import { fixtureDatabaseEnv } from './fixtures/fixture-database.js'
import { createServerDatabase, DIALECTS } from './helpers/databases.js'

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const PHONES = 4
const OUTBOUND = 200
const INBOUND_PER_PHONE = 60

async function sharedDatabase(dialect: Dialect, dir: string): Promise<{ database: Database; env: Record<string, string>; drop(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const file = path.join(dir, 'wabox.db')
    return { database: openDatabase({ sqlitePath: file }), env: { WABOX_FIXTURE_SQLITE: file }, drop: async () => undefined }
  }
  const server = await createServerDatabase(dialect, 'coreapp-crash')
  return { database: openDatabase(server.options), env: fixtureDatabaseEnv(server.options), drop: server.drop }
}

for (const dialect of DIALECTS) {
  describe(`CoreApp crash safety [${dialect}]`, () => {
    it('delivers every accepted message exactly once and persists every inbound one exactly once across SIGKILLs', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-coreapp-crash-'))
      const shared = await sharedDatabase(dialect, dir)
      await migrate(shared.database)
      const key = randomBytes(32)
      const store = Store.open(shared.database, new Sealer(key), systemClock)
      const mediaDir = path.join(dir, 'media')
      const network = await startNetworkServer({
        dataDir: path.join(dir, 'network'), port: 0, clock: systemClock, logger, limits: { pairBurst: 1e6, throughputPerSecond: 1e6 },
      })
      const phones: Phone[] = []
      let child: ChildProcess | undefined
      let producing = true
      try {
        await store.numbers.create({ id: BUSINESS.id, cc: BUSINESS.cc, number: BUSINESS.number, displayName: BUSINESS.name })
        // registration through a CoreApp in this process, which then leaves the number to the child
        const registrar = new CoreApp({ store, clock: systemClock, logger, networkUrl: network.wsUrl, media: new MediaVolume({ root: mediaDir, key, store }), ownerId: 'registrar' })
        await registrar.start()
        await registerBusiness(registrar, network)
        await registrar.stop()

        for (let i = 0; i < PHONES; i++) {
          phones.push(await Phone.start({
            dir: path.join(dir, 'phones', String(i)), networkUrl: network.wsUrl, logger, fsync: false, preKeys: 10, autoReadDelayMs: null,
            register: { cc: '1', phone: `55530${i}0`, codeSource: (cc, p) => network.lastCode(cc, p) },
          }))
        }
        // every user writes first (open windows); nobody is connected for the business yet: the network holds it
        const inbound: string[] = []
        for (const p of phones) inbound.push((await p.send({ to: BUSINESS.waId, type: 'text', text: 'hello' })).id)

        const deliveredOnPhones = async () => (await Promise.all(phones.map((p) => p.inbox()))).flat().filter((m) => m.from === BUSINESS.waId).length
        const spawnChild = async (owner: string): Promise<ChildProcess> => {
          const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/fixtures/coreapp-crash-child.ts')], {
            cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'],
            env: { ...process.env, ...shared.env, WABOX_FIXTURE_KEY: key.toString('hex'), WABOX_FIXTURE_MEDIA: mediaDir, WABOX_FIXTURE_NETWORK: network.wsUrl, WABOX_FIXTURE_OWNER: owner },
          })
          for await (const line of readline.createInterface({ input: proc.stdout! })) if (line === 'ready') break
          return proc
        }
        const pending = async () => ({
          queued: (await store.ctx.db.selectFrom('messages').select('id').where('direction', '=', 'out').where('status', '=', 'queued').execute()).length,
          encrypted: await store.outbox.envelopeCount(BUSINESS.id),
        })
        /** SIGKILLs the child; with WABOX_CRASH_DEBUG, logs what was under way (queued, encrypted but unacked). */
        const kill = async (proc: ChildProcess) => {
          const exited = new Promise((resolve) => proc.once('exit', resolve))
          proc.kill('SIGKILL')
          await exited
          if (process.env.WABOX_CRASH_DEBUG) console.log('killed with', { ...(await pending()), onPhones: await deliveredOnPhones(), inbound: await store.inbound.count(BUSINESS.id), inboundSent: inbound.length })
        }
        const leftQueue = async () =>
          (await store.ctx.db.selectFrom('messages').select('id').where('direction', '=', 'out').where('status', '!=', 'queued').execute()).length

        const sent: { id: string; to: string }[] = []
        const produce = async (count: number, batch: number) => {
          for (let i = 0; i < count; i += batch) {
            const rows = Array.from({ length: batch }, (_, j) => ({ id: messageId(), to: phones[(sent.length + j) % PHONES]!.waId, n: sent.length + j }))
            await store.messages.insertOutbound(rows.map((m) => ({
              id: m.id, phoneNumberId: BUSINESS.id, to: m.to, type: 'text', content: { to: m.to, type: 'text', text: { body: `message ${m.n}` } }, shard: shardOf(m.to, 1),
            })))
            sent.push(...rows.map((m) => ({ id: m.id, to: m.to })))
            await new Promise((resolve) => setTimeout(resolve, 10))
          }
        }
        // users keep writing the whole time, also while the CoreApp is down
        const chatter = Promise.all(phones.map(async (p) => {
          for (let i = 0; i < INBOUND_PER_PHONE && producing; i++) {
            inbound.push((await p.send({ to: BUSINESS.waId, type: 'text', text: `question ${i}` })).id)
            await new Promise((resolve) => setTimeout(resolve, 40))
          }
        }))

        child = await spawnChild('coreapp-1')
        await waitFor(async () => (await store.inbound.count(BUSINESS.id)) >= PHONES, 'first inbound messages')
        await produce(OUTBOUND / 2, OUTBOUND / 2)
        await waitFor(async () => (await leftQueue()) >= OUTBOUND / 8, 'sending under way')
        // how much was under way at the kill depends on timing; the assertions below must hold either way
        await kill(child)

        // the same process identity comes back and resumes its own leases at once
        child = await spawnChild('coreapp-1')
        await produce(OUTBOUND / 2, OUTBOUND / 2)
        await waitFor(async () => (await leftQueue()) >= (OUTBOUND * 5) / 8, 'more sent')
        await kill(child)

        // another process takes over once the dead one's leases expire
        child = await spawnChild('coreapp-2')
        await chatter
        producing = false
        try {
          await waitFor(async () => (await deliveredOnPhones()) >= OUTBOUND, 'every message on a phone', 30_000)
          await waitFor(async () => (await store.inbound.count(BUSINESS.id)) >= inbound.length, 'every inbound message persisted', 30_000)
          await waitFor(async () => {
            const rows = await store.ctx.db.selectFrom('messages').select('status').where('direction', '=', 'out').execute()
            return rows.length === OUTBOUND && rows.every((r) => r.status === 'delivered')
          }, 'every delivery recorded', 30_000)
        } catch (err) {
          const statuses = await store.ctx.db.selectFrom('messages').select(['status', 'direction']).execute()
          const counts: Record<string, number> = {}
          for (const r of statuses) counts[`${r.direction}:${r.status}`] = (counts[`${r.direction}:${r.status}`] ?? 0) + 1
          const onPhones = new Set((await Promise.all(phones.map((p) => p.inbox()))).flat().map((e) => e.id))
          const missing = sent.filter((m) => !onPhones.has(m.id))
          const missingRows = await Promise.all(missing.slice(0, 5).map((m) => store.messages.get(m.id)))
          console.error('stuck:', JSON.stringify({ counts, onPhones: await deliveredOnPhones(), missing: missing.length, missingRows: missingRows.map((r) => r && [r.id, r.peer, r.status, r.error]), leases: await store.shardLeases.list() }))
          throw err
        }
        // outbound: each accepted message exactly once on its phone, in the order it was queued, decryptable
        for (const phone of phones) {
          const got = (await phone.inbox()).filter((m) => m.from === BUSINESS.waId)
          expect(got.filter((m) => m.error)).toEqual([])
          expect(got.map((m) => m.id)).toEqual(sent.filter((s) => s.to === phone.waId).map((s) => s.id))
        }
        // inbound: each message exactly once in the store and once as a callback
        const rows = await store.ctx.db.selectFrom('messages').select('id').where('direction', '=', 'in').execute()
        expect(rows.map((r) => r.id).sort()).toEqual([...inbound].sort())
        const callbacks = (await store.ctx.db.selectFrom('callbacks').select('payload').orderBy('seq').execute()).map((r) => store.ctx.sealer.openJson<CallbackEvent>(r.payload))
        const messageCallbacks = callbacks.flatMap((e) => (e.type === 'message' ? [e.message.id] : []))
        expect(messageCallbacks.sort()).toEqual([...inbound].sort())
        // statuses: one delivered callback per message, never a duplicate sent
        for (const { id } of sent) {
          const statuses = callbacks.flatMap((e) => (e.type === 'status' && e.status.id === id ? [e.status.status] : []))
          expect(statuses.filter((s) => s === 'delivered')).toHaveLength(1)
          expect(statuses.filter((s) => s === 'sent').length).toBeLessThanOrEqual(1)
          expect(statuses).not.toContain('failed')
        }
        expect(await store.outbox.envelopeCount(BUSINESS.id)).toBe(0)
      } finally {
        producing = false
        if (child && child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child!.once('exit', resolve))
          child.kill('SIGKILL')
          await exited
        }
        for (const p of phones) await p.close()
        await network.close()
        await shared.database.close()
        await shared.drop()
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }, 120_000)
  })
}
