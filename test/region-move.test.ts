import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { CloudCode, WaboxError } from '../src/errors/index.js'
import { messageId } from '../src/ids.js'
import { MediaVolume } from '../src/media/volume.js'
import { isContentReference, openRegions, Regions } from '../src/store/regions.js'
import { Store } from '../src/store/store.js'
import { hashPassword } from '../src/store/users.js'
import { changeWabaRegion } from '../src/webapp/services/partner-region.js'
import { createServerDatabase, describeEachDatabase, type ServerDatabase } from './helpers/databases.js'
import { addNumber } from './helpers/webapp.js'

describeEachDatabase('data residency: moving a WABA to another region', (db, dialect) => {
  let dir: string
  const servers: ServerDatabase[] = []
  let regions: Regions
  let store: Store

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-region-move-'))
    const locations = []
    for (const name of ['DE', 'BR']) {
      const server = dialect === 'sqlite' ? undefined : await createServerDatabase(dialect, `move-${name}`)
      if (server) servers.push(server)
      locations.push({ name, url: server?.url, sqlitePath: server ? undefined : path.join(dir, name, 'region.db'), mediaRoot: path.join(dir, name, 'media') })
    }
    regions = await openRegions(locations, db().sealer, db().clock)
    store = Store.open(db().database, db().sealer, db().clock, regions)
  })

  afterAll(async () => {
    await regions.close()
    for (const s of servers) await s.drop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  /** A number of a new partner's WABA in DE, with the two-step PIN 123456. */
  const germanNumber = async (id: string) => {
    const partner = await store.partners.create(`BSP ${id}`)
    const client = await store.clients.create(partner.id, 'Shop')
    const waba = (await store.clients.createWaba(partner.id, client.id, 'WABA', 'DE'))!
    const number = (await addNumber(store, id, '49', id)).id
    await store.numbers.setHosting(number, { wabaId: waba.id })
    await store.numbers.update(number, { pin_hash: await hashPassword('123456') })
    return { partner, waba, number, actor: { partnerId: partner.id, credentialId: 'pk_test', sourceIp: '127.0.0.1' } }
  }

  it('moves content, echoes, callback payloads and media in batches while writes go on, after the PIN; refuses a wrong PIN and an unconfigured region', async () => {
    const { partner, waba, number, actor } = await germanNumber('7300001')
    const deps = { store }
    const text = (body: string) => ({ type: 'text', text: { body }, biz_opaque_callback_data: `opaque ${body}` })
    const send = async (n: number, tag: string) => {
      const batch = Array.from({ length: n }, (_, i) => ({ id: messageId(), phoneNumberId: number, to: '15551234567', type: 'text', content: text(`${tag} ${i}`), shard: 0 }))
      await store.transaction(async (tx) => {
        await tx.messages.insertOutbound(batch)
        await tx.callbacks.enqueueMany(number, batch.map((m) => ({ type: 'status', id: m.id, status: 'sent', recipient_id: '15551234567', timestamp: '1' }) as never))
      })
      return batch.map((m) => [m.id, m.content] as const)
    }
    const sent = new Map(await send(1200, 'before'))
    const volume = new MediaVolume({ root: path.join(db().dir, 'media'), key: randomBytes(32), store })
    const media = await volume.put(Buffer.from('%PDF-1.4 moved'), { phoneNumberId: number, mimeType: 'application/pdf' })

    const wrong = await changeWabaRegion(deps, actor, waba.id, { data_localization_region: 'BR', pin: '654321' }, 0).catch((e: unknown) => e)
    expect(wrong).toBeInstanceOf(WaboxError)
    expect((wrong as WaboxError).cloudCode).toBe(CloudCode.PIN_MISMATCH)
    await expect(changeWabaRegion(deps, actor, waba.id, { data_localization_region: 'in', pin: '123456' }, 0))
      .rejects.toThrow('region IN is not configured in this deployment (configured regions: DE, BR)')
    expect(await regions.get('DE')!.count(number)).toBe(2400 + 1200)

    // writes go on while the content moves
    const started = performance.now()
    const moving = changeWabaRegion(deps, actor, waba.id, { data_localization_region: 'br', pin: '123456' }, 0)
    const during = await Promise.all([send(50, 'during a'), send(50, 'during b')])
    const change = await moving
    const wallMs = Math.round(performance.now() - started)
    for (const batch of during) for (const [id, content] of batch) sent.set(id, content)
    expect(change).toMatchObject({ from: 'DE', to: 'BR', mediaFilesMoved: 1 })
    expect(change.rowsMoved).toBeGreaterThanOrEqual(3600)
    console.log(`[region move ${dialect}] ${change.rowsMoved} rows and ${change.mediaFilesMoved} media file moved in ${wallMs} ms wall time, 100 messages written meanwhile; channels were not paused`)

    // nothing left in DE; every message, echo and callback readable, each once
    expect(await regions.get('DE')!.count(number)).toBe(0)
    expect(await regions.get('BR')!.count(number)).toBe(sent.size * 3)
    const rows = await db().database.db.selectFrom('messages').select(['id', 'content']).where('phone_number_id', '=', number).execute()
    expect(rows.length).toBe(sent.size)
    for (const r of rows) expect(isContentReference(r.content)).toBe(true)
    const queued = await store.outbox.claimQueued(number, [0], 0, 10_000)
    expect(new Set(queued.map((q) => q.id)).size).toBe(sent.size)
    for (const q of queued) expect(store.outbox.openContent(q.content)).toEqual(sent.get(q.id))
    const echoed = await store.transaction((tx) => tx.outbox.transition([...sent.keys()], 'sent', db().clock.now()))
    expect(echoed).toHaveLength(sent.size)
    for (const m of echoed) expect(store.outbox.openContent(m.callbackData!)).toEqual({ biz_opaque_callback_data: (sent.get(m.id) as { biz_opaque_callback_data: string }).biz_opaque_callback_data })
    const callbacks = await store.callbacks.claim(number, 10_000, 30_000, 'test')
    expect(callbacks.map((c) => (store.callbacks.event(c) as unknown as { id: string }).id).sort()).toEqual([...sent.keys()].sort())
    expect(await volume.read(media.id)).toEqual(Buffer.from('%PDF-1.4 moved'))
    expect(fs.readdirSync(path.join(dir, 'BR', 'media'), { recursive: true }).map(String).some((f) => f.endsWith(media.id))).toBe(true)

    const [entry] = await store.audit.list(partner.id, { action: 'waba.region', limit: 10 })
    expect(entry).toMatchObject({ objectId: waba.id, credentialId: 'pk_test', detail: { from: 'DE', to: 'BR', rows_moved: change.rowsMoved } })
  })

  it('a repeated call moves what a killed move and writes open across the change left in the old region', async () => {
    const { waba, number, actor } = await germanNumber('7300002')
    const send = async (on: Store, n: number, tag: string) => {
      const batch = Array.from({ length: n }, (_, i) => ({ id: messageId(), phoneNumberId: number, to: '15551234567', type: 'text', content: { type: 'text', text: { body: `${tag} ${i}` } }, shard: 1 }))
      await on.transaction((tx) => tx.messages.insertOutbound(batch))
      return batch.map((m) => [m.id, m.content] as const)
    }
    const sent = new Map(await send(store, 30, 'before'))
    // another process read the number's region before the change and still writes there
    const stale = Store.open(db().database, db().sealer, db().clock, new Regions(['DE', 'BR'].map((n) => regions.get(n)!), db().clock))
    await stale.ctx.regions!.of(db().database.db, number)

    const first = await changeWabaRegion({ store }, actor, waba.id, { data_localization_region: 'BR', pin: '123456' }, 0)
    expect(first).toMatchObject({ from: 'DE', to: 'BR', rowsMoved: 30, passes: 2 })
    for (const [id, content] of await send(stale, 5, 'straggler')) sent.set(id, content)
    // what a move killed between switching the references and deleting the old copies leaves
    const br = regions.get('BR')!
    const de = regions.get('DE')!
    const copies = (await br.page(number, '', 10)).map((r) => ({ ...r, value: de.sealer.seal(br.sealer.open(r.value)) }))
    await de.put(copies)
    expect(await de.count(number)).toBe(5 + 10)

    const again = await changeWabaRegion({ store }, actor, waba.id, { data_localization_region: 'BR', pin: '123456' }, 0)
    expect(again).toMatchObject({ from: 'BR', to: 'BR', rowsMoved: 5, passes: 2 })
    expect(await de.count(number)).toBe(0)
    expect(await br.count(number)).toBe(sent.size)
    const queued = await store.outbox.claimQueued(number, [1], 0, 10_000)
    expect(queued.map((q) => q.id).sort()).toEqual([...sent.keys()].sort())
    for (const q of queued) expect(store.outbox.openContent(q.content)).toEqual(sent.get(q.id))
  })
})
