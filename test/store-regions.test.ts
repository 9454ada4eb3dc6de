import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { CallbackEvent } from '../src/domain/events.js'
import { messageId } from '../src/ids.js'
import { MediaVolume } from '../src/media/volume.js'
import { HubQueries } from '../src/store/hub-queries.js'
import { sealContent } from '../src/store/region-content.js'
import { isContentReference, openRegions, RegionStore, type RegionLocation, type Regions } from '../src/store/regions.js'
import { PURGED_CONTENT, RetentionRecords } from '../src/store/retention.js'
import { Sealer } from '../src/store/sealer.js'
import { Store } from '../src/store/store.js'
import { createServerDatabase, describeEachDatabase, type ServerDatabase } from './helpers/databases.js'
import { addNumber } from './helpers/webapp.js'

const DAY = 86_400_000

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    return e.isDirectory() ? filesUnder(p) : [p]
  })
}

function inbound(marker: string, id = messageId()): CallbackEvent {
  return { type: 'message', contact: { wa_id: '15551234567', profile: { name: 'K' } }, message: { from: '15551234567', id, timestamp: '1', type: 'text', text: { body: marker } } } as CallbackEvent
}

describeEachDatabase('data residency', (db, dialect) => {
  let dir: string
  let server: ServerDatabase | undefined
  let regions: Regions
  let store: Store
  let regionalWaba: string
  let unconfiguredWaba: string

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-region-'))
    server = dialect === 'sqlite' ? undefined : await createServerDatabase(dialect, 'region')
    const location: RegionLocation = { name: 'DE', url: server?.url, sqlitePath: server ? undefined : path.join(dir, 'region.db'), mediaRoot: path.join(dir, 'media') }
    regions = await openRegions([location], db().sealer, db().clock)
    store = Store.open(db().database, db().sealer, db().clock, regions)
    const partner = await store.partners.create('BSP')
    const client = await store.clients.create(partner.id, 'Shop')
    regionalWaba = (await store.clients.createWaba(partner.id, client.id, 'German WABA', 'DE'))!.id
    unconfiguredWaba = (await store.clients.createWaba(partner.id, client.id, 'Brazilian WABA', 'BR'))!.id
  })

  afterAll(async () => {
    await regions.close()
    await server?.drop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  async function regionalNumber(id: string, wabaId = regionalWaba): Promise<string> {
    await addNumber(store, id, '49', id)
    await store.numbers.setHosting(id, { wabaId })
    return id
  }

  it('keeps the content of a regional number only in its region, sealed there, and reads it back through the store', async () => {
    const de = await regionalNumber('7100001')
    const home = (await addNumber(store, '7100002', '1', '7100002')).id
    const marker = 'RESIDENCY-MARKER-' + randomBytes(6).toString('hex')
    const out = messageId()
    const inId = messageId()
    const plain = messageId()
    await store.transaction(async (tx) => {
      await tx.messages.insertOutbound([
        { id: out, phoneNumberId: de, to: '15551234567', type: 'text', content: { type: 'text', text: { body: `${marker} out` }, biz_opaque_callback_data: `${marker} opaque` }, shard: 0 },
        { id: plain, phoneNumberId: home, to: '15551234567', type: 'text', content: { type: 'text', text: { body: 'stays home' } }, shard: 0 },
      ])
      await tx.inbound.persist([{ phoneNumberId: de, envelopeId: 'env-1', messageId: inId, peer: '15551234567', shard: 0, type: 'text', message: { text: { body: `${marker} in` } }, receivedAt: db().clock.now() }])
      await tx.callbacks.enqueue(de, inbound(`${marker} callback`, inId))
    })

    // the home database holds references only: no content, sealed or not
    const rows = await db().database.db.selectFrom('messages').select(['id', 'content', 'callback_data']).where('phone_number_id', '=', de).execute()
    expect(rows).toHaveLength(2)
    for (const r of rows) expect(isContentReference(r.content), r.id).toBe(true)
    expect(isContentReference(rows.find((r) => r.id === out)!.callback_data)).toBe(true)
    const [payload] = await db().database.db.selectFrom('callbacks').select('payload').where('phone_number_id', '=', de).execute()
    expect(isContentReference(payload!.payload)).toBe(true)
    // a number without a region is unchanged: sealed at home
    const homeRow = await db().database.db.selectFrom('messages').select('content').where('id', '=', plain).executeTakeFirstOrThrow()
    expect(isContentReference(homeRow.content)).toBe(false)
    expect(store.messages.content(homeRow as never)).toEqual({ type: 'text', text: { body: 'stays home' } })

    // the region holds the four values, sealed with the region's key (the home key does not open them)
    const region = regions.get('DE')!
    expect(await region.count(de)).toBe(4)
    expect(await region.count(home)).toBe(0)
    const values = [...(await region.get(rows.map((r) => r.id))).values()]
    expect(values).toHaveLength(2)
    for (const v of values) {
      expect(v.includes(Buffer.from(marker))).toBe(false)
      expect(() => db().sealer.open(v)).toThrow()
    }
    if (dialect === 'sqlite') {
      await db().database.db.selectFrom('messages').select('id').execute() // the WAL holds the writes
      const homeBytes = Buffer.concat(filesUnder(db().dir).map((f) => fs.readFileSync(f)))
      expect(homeBytes.includes(Buffer.from(marker)), 'home SQLite files').toBe(false)
      expect(fs.existsSync(`${db().file!}-wal`)).toBe(true)
      const regionBytes = Buffer.concat(filesUnder(dir).map((f) => fs.readFileSync(f)))
      expect(regionBytes.length).toBeGreaterThan(0)
      expect(regionBytes.includes(Buffer.from(marker)), 'region SQLite files').toBe(false)
    }

    // …and every reader sees the content: the engine sending, the status echo, the dispatcher, the Hub
    const [queued] = await store.outbox.claimQueued(de, [0], 0, 10)
    expect(store.outbox.openContent<{ text: { body: string } }>(queued!.content).text.body).toBe(`${marker} out`)
    const [sent] = await store.transaction((tx) => tx.outbox.transition([out], 'sent', db().clock.now()))
    expect(store.outbox.openContent(sent!.callbackData!)).toEqual({ biz_opaque_callback_data: `${marker} opaque` })
    const [claimed] = await store.callbacks.claim(de, 10, 30_000, 'test')
    expect(store.callbacks.event(claimed!)).toMatchObject({ message: { text: { body: `${marker} callback` } } })
    expect((await store.callbacks.get(de, claimed!.seq))?.event).toMatchObject({ message: { text: { body: `${marker} callback` } } })
    expect(store.messages.content(await store.messages.get(inId) as never)).toEqual({ text: { body: `${marker} in` } })
    const hub = new HubQueries(store.ctx)
    expect((await hub.messages(de, '15551234567')).map((m) => m.content)).toEqual([
      { type: 'text', text: { body: `${marker} out` }, biz_opaque_callback_data: `${marker} opaque` },
      { text: { body: `${marker} in` } },
    ])
    expect((await hub.callbacks(de))[0]?.event).toMatchObject({ message: { text: { body: `${marker} callback` } } })
  })

  it('refuses to write content of a number whose WABA names a region not configured here, naming it and the flag', async () => {
    const br = await regionalNumber('7100003', unconfiguredWaba)
    await expect(store.messages.insertOutbound([{ id: messageId(), phoneNumberId: br, to: '15551234567', type: 'text', content: { text: { body: 'x' } }, shard: 0 }]))
      .rejects.toThrow(/region BR, which is not configured here \(configured: DE\); add --region BR=LOCATION/)
    expect(await db().database.db.selectFrom('messages').select('id').where('phone_number_id', '=', br).execute()).toEqual([])
  })

  it("keeps a regional number's media files under its region's media root, and reads and deletes them there", async () => {
    const de = await regionalNumber('7100005')
    const home = (await addNumber(store, '7100006', '1', '7100006')).id
    const volume = new MediaVolume({ root: path.join(db().dir, 'media'), key: randomBytes(32), store })
    const bytes = Buffer.from('%PDF-1.4 regional document')
    const regional = await volume.put(bytes, { phoneNumberId: de, mimeType: 'application/pdf' })
    const local = await volume.put(bytes, { phoneNumberId: home, mimeType: 'application/pdf' })
    const underRegion = filesUnder(path.join(dir, 'media')).map((f) => path.basename(f))
    expect(underRegion).toContain(regional.id)
    expect(underRegion).not.toContain(local.id)
    expect(filesUnder(path.join(db().dir, 'media')).map((f) => path.basename(f))).not.toContain(regional.id)
    expect(await volume.read(regional.id)).toEqual(bytes)
    expect(await volume.delete(regional.id)).toBe(true)
    expect(filesUnder(path.join(dir, 'media')).map((f) => path.basename(f))).not.toContain(regional.id)
  })

  it('retention purges region content past the cut-off and orphans of a crash, and keeps what waits for delivery and what is newer', async () => {
    const { clock } = db()
    const de = await regionalNumber('7100004')
    const [old, queued, recent] = [messageId(), messageId(), messageId()]
    const text = (body: string) => ({ type: 'text', text: { body } })
    await store.messages.insertOutbound([
      { id: old, phoneNumberId: de, to: '15551234567', type: 'text', content: text('old'), shard: 0 },
      { id: queued, phoneNumberId: de, to: '15551234567', type: 'text', content: text('still queued'), shard: 0 },
    ])
    await store.transaction((tx) => tx.outbox.transition([old], 'delivered', clock.now()))
    await store.callbacks.enqueue(de, inbound('delivered callback'))
    const [done] = await store.callbacks.claim(de, 10, 30_000, 'test')
    await store.transaction((tx) => tx.callbacks.record([{ seq: done!.seq, phoneNumberId: de, at: clock.now(), httpStatus: 200, latencyMs: 1, error: null, next: { kind: 'done' } }], 'test'))
    await store.callbacks.enqueue(de, inbound('pending callback'))
    // a crash after the region write, before the home row: an orphan
    await sealContent(store.ctx, [{ phoneNumberId: de, kind: 'content', key: 'orphan', value: text('orphan') }])
    expect(await regions.get('DE')!.count(de)).toBe(5)

    clock.tick(31 * DAY)
    await store.messages.insertOutbound([{ id: recent, phoneNumberId: de, to: '15551234567', type: 'text', content: text('recent'), shard: 0 }])
    const retention = new RetentionRecords(store.ctx)
    expect(await retention.purgeMessageContent(de, clock.now() - 30 * DAY, 2)).toBe(1)

    // left: the queued message, the pending callback, the newer message
    const region = regions.get('DE')!
    expect(await region.count(de)).toBe(3)
    expect([...(await region.get([old, queued, recent, 'orphan'])).keys()].sort()).toEqual([queued, recent].sort())
    expect(store.messages.content(await store.messages.get(old) as never)).toEqual(PURGED_CONTENT)
    expect(store.messages.content(await store.messages.get(queued) as never)).toEqual(text('still queued'))
    const pending = await store.callbacks.list(de, 'pending')
    expect(pending.items.map((c) => c.event)).toMatchObject([{ message: { text: { body: 'pending callback' } } }])
  })

  it('resealStale re-seals region content under the rotated ring\'s new region key, so it stays readable once the old key is gone', async () => {
    const [master, next] = [randomBytes(32), randomBytes(32)]
    const own = dialect === 'sqlite' ? undefined : await createServerDatabase(dialect, 'region-rotation')
    const rotationDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-region-rotation-'))
    const location = { name: 'DE', url: own?.url, sqlitePath: own ? undefined : path.join(rotationDir, 'region.db'), mediaRoot: rotationDir }
    const opened = await openRegions([location], new Sealer(master), db().clock)
    try {
      const region = opened.get('DE')!
      const values = Array.from({ length: 5 }, (_, i) => ({ key: `m${i}`, phoneNumberId: '7100007', kind: 'content' as const, value: region.sealer.sealJson({ text: { body: `rotated ${i}` } }) }))
      await region.put(values)
      // during the rotation the ring seals with the next key and opens with both
      const during = new RegionStore('DE', region.database, new Sealer(next, [master]).forRegion('DE'), region.mediaRoot, db().clock)
      expect(await during.resealStale(2)).toBe(5)
      expect(await during.resealStale(2)).toBe(0)
      const after = new Sealer(next).forRegion('DE')
      const stored = await region.get(values.map((v) => v.key))
      expect([...stored.values()].map((v) => after.openJson(v))).toEqual(values.map((_, i) => ({ text: { body: `rotated ${i}` } })))
      for (const v of stored.values()) expect(() => region.sealer.open(v)).toThrow()
    } finally {
      await opened.close()
      await own?.drop()
      fs.rmSync(rotationDir, { recursive: true, force: true })
    }
  })
})
