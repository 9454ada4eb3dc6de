import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { CoreApp } from '../src/coreapp/coreapp.js'
import type { CoreAppTuning } from '../src/coreapp/context.js'
import type { CallbackEvent } from '../src/domain/events.js'
import type { OutboundContent } from '../src/domain/message/outbound.js'
import { messageId } from '../src/ids.js'
import { MediaVolume } from '../src/media/volume.js'
import { startNetworkServer, type NetworkServer, type NetworkLimits, type StartNetworkServerOptions } from '../src/network/index.js'
import { Phone } from '../src/phones/phone.js'
import type { Dialect } from '../src/store/database.js'
import type { Store } from '../src/store/store.js'
import { shardOf } from '../src/domain/shard.js'
import type { TemplateComponentWire, TemplateWire } from '../src/wire/frames.js'
import { createTestDatabase, type TestDatabase } from './helpers/databases.js'

export const BUSINESS = { id: 'pn-acme', cc: '1', number: '5550100', waId: '15550100', name: 'Acme Inc' }

/** Tests want fast polls and leases; production defaults are seconds. */
export const TEST_TUNING: Partial<CoreAppTuning> = { pollMs: 20, leaseRenewMs: 100, leaseTtlMs: 1_000, templateMaxAgeMs: 0, reconnectMs: 200, preKeys: 30, settingsMaxAgeMs: 0 }

export const logger = pino({ level: process.env.WABOX_TEST_LOG ?? 'silent' })

export interface Harness {
  db: TestDatabase
  store: Store
  network: NetworkServer
  media: MediaVolume
  app: CoreApp
  phones: Phone[]
  dir: string
  /** Starts another CoreApp on the same database (another process, as far as leases go). */
  startCoreApp(ownerId: string, tuning?: Partial<CoreAppTuning>): Promise<CoreApp>
  phone(index: number): Promise<Phone>
  /** Queues an outbound message as the WebApp does and wakes the CoreApp; returns its id. */
  queue(body: OutboundContent, opts?: { expiresAt?: number }): Promise<string>
  /**
   * Queues several messages in one transaction, so one claim takes them together. A `sealed`
   * entry stores those bytes as the message's content: hostile rows the edge would never let in.
   */
  queueAll(bodies: (OutboundContent | HostileRow)[]): Promise<string[]>
  createTemplate(input: { name: string; language?: string; category?: TemplateWire['category']; components: TemplateComponentWire[] }): Promise<TemplateWire>
  templateAction(id: string, action: 'pause' | 'disable' | 'unpause'): Promise<void>
  callbacks(): Promise<CallbackEvent[]>
  cleanup(): Promise<void>
}

/** An outbound row with raw content bytes, or with a ciphertext stored before the network's limits applied. */
export interface HostileRow {
  to: string
  type: string
  sealed?: Buffer
  envelope?: Uint8Array
}

export interface HarnessOptions {
  phones?: number
  limits?: Partial<NetworkLimits>
  /** Other network options (template review and quality rules, ...). */
  network?: Partial<StartNetworkServerOptions>
  tuning?: Partial<CoreAppTuning>
  /** Register the business number (default true). */
  register?: boolean
  /** Every CoreApp beats in the node registry and holds its fair share of the shards (`wabox coreapp`). */
  cluster?: boolean
}

/** Network server + simulated phones + a CoreApp with a registered number, on a fresh database. */
export async function startHarness(dialect: Dialect, opts: HarnessOptions = {}): Promise<Harness> {
  const db = await createTestDatabase(dialect, { label: 'coreapp' })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-coreapp-'))
  const network = await startNetworkServer({
    dataDir: path.join(dir, 'network'), port: 0, clock: db.clock, profile: 'dev', logger,
    limits: { pairBurst: 100_000, throughputPerSecond: 100_000, ...opts.limits }, ...opts.network,
  })
  const store = db.store
  const media = new MediaVolume({ root: path.join(dir, 'media'), key: randomBytes(32), store })
  await store.numbers.create({ id: BUSINESS.id, cc: BUSINESS.cc, number: BUSINESS.number, displayName: BUSINESS.name })
  const apps: CoreApp[] = []
  const startCoreApp = async (ownerId: string, tuning?: Partial<CoreAppTuning>) => {
    const app = new CoreApp({
      store, clock: db.clock, logger, networkUrl: network.wsUrl, media, ownerId, tuning: { ...TEST_TUNING, ...opts.tuning, ...tuning },
      ...(opts.cluster ? { cluster: { rpcUrl: () => null } } : {}),
    })
    apps.push(app)
    await app.start()
    return app
  }
  const app = await startCoreApp('coreapp-a')
  if (opts.register ?? true) {
    await registerBusiness(app, network)
    // tests that ask the network through the number's connection need it up, not just registered
    await waitFor(async () => (await store.numbers.get(BUSINESS.id))?.gateway_status === 'connected', 'the number connected')
  }
  const phones: Phone[] = []
  const phone = async (index: number) => {
    const p = await Phone.start({
      dir: path.join(dir, 'phones', String(index)), networkUrl: network.wsUrl, clock: db.clock, logger, fsync: false, preKeys: 10,
      register: { cc: '1', phone: `55520${String(index).padStart(2, '0')}`, codeSource: (cc, ph) => network.lastCode(cc, ph), profileName: `User ${index}` },
    })
    phones[index] = p
    return p
  }
  for (let i = 0; i < (opts.phones ?? 2); i++) await phone(i)
  const control = async (method: string, url: string, body?: unknown) => {
    const res = await network.app.inject({ method: method as 'POST', url, ...(body === undefined ? {} : { payload: body as object }) })
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
    return res.json() as unknown
  }
  return {
    db, store, network, media, app, phones, dir, startCoreApp, phone,
    async queue(body, o = {}) {
      const id = messageId()
      const row = await store.numbers.get(BUSINESS.id)
      await store.messages.insertOutbound([{ id, phoneNumberId: BUSINESS.id, to: body.to, type: body.type, content: body, shard: shardOf(body.to, row!.shard_count), expiresAt: o.expiresAt ?? null }])
      for (const a of apps) a.wake()
      return id
    },
    async queueAll(bodies) {
      const row = await store.numbers.get(BUSINESS.id)
      const ids = bodies.map(() => messageId())
      await store.transaction(async (tx) => {
        for (const [i, body] of bodies.entries()) {
          const id = ids[i]!
          const hostile = 'sealed' in body || 'envelope' in body ? (body as HostileRow) : undefined
          const content = hostile ? { to: body.to, type: 'text', text: { body: 'placeholder' } } : body
          await tx.messages.insertOutbound([{ id, phoneNumberId: BUSINESS.id, to: body.to, type: body.type, content, shard: shardOf(body.to, row!.shard_count) }])
          if (hostile?.sealed) await tx.ctx.db.updateTable('messages').set({ content: hostile.sealed }).where('id', '=', id).execute()
          if (hostile?.envelope) {
            await tx.outbox.saveEnvelopes([{ messageId: id, phoneNumberId: BUSINESS.id, peer: body.to, kind: 'message', body: hostile.envelope, category: 'service', businessInitiated: false }])
          }
        }
      })
      for (const a of apps) a.wake()
      return ids
    },
    async createTemplate(input) {
      return (await control('POST', `/control/accounts/${BUSINESS.waId}/templates`, { language: 'en_US', category: 'MARKETING', ...input })) as TemplateWire
    },
    async templateAction(id, action) {
      await control('POST', `/control/templates/${id}/${action}`, {})
    },
    async callbacks() {
      const rows = await store.ctx.db.selectFrom('callbacks').select(['payload']).where('phone_number_id', '=', BUSINESS.id).orderBy('seq').execute()
      return rows.map((r) => store.ctx.sealer.openJson<CallbackEvent>(r.payload))
    },
    async cleanup() {
      for (const p of phones) await p?.close()
      for (const a of apps) await a.stop()
      await network.close()
      await db.cleanup()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

export async function registerBusiness(app: CoreApp, network: NetworkServer): Promise<void> {
  const cert = Buffer.from(network.issueVnameCertificate(BUSINESS.cc, BUSINESS.number, BUSINESS.name)).toString('base64')
  await app.bridge.requestCode(BUSINESS.id, { cc: BUSINESS.cc, phoneNumber: BUSINESS.number, method: 'sms', cert })
  const code = await network.lastCode(BUSINESS.cc, BUSINESS.number)
  if (!code) throw new Error('no registration code')
  await app.bridge.verify(BUSINESS.id, code)
}

/** Polls `check` until it returns a value other than undefined/false. */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export function statusesOf(events: CallbackEvent[], id: string) {
  return events.flatMap((e) => (e.type === 'status' && e.status.id === id ? [e.status] : []))
}
