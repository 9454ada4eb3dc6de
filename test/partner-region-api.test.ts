import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { messageId } from '../src/ids.js'
import { openRegions, type Regions } from '../src/store/regions.js'
import { Store } from '../src/store/store.js'
import { hashPassword } from '../src/store/users.js'
import { describeEachDatabase } from './helpers/databases.js'
import { createPartnerWorld, type PartnerWorld } from './helpers/partner-world.js'

// SQLite regions only: the regions' own engines are covered by test/store-regions and test/region-move
describeEachDatabase('Partner API: data residency', (ctx) => {
  let w: PartnerWorld
  let dir: string
  let regions: Regions
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-partner-region-'))
    regions = await openRegions(['DE', 'BR'].map((name) => ({ name, url: undefined, sqlitePath: path.join(dir, name, 'region.db'), mediaRoot: path.join(dir, name, 'media') })), ctx().sealer, ctx().clock)
    w = await createPartnerWorld({ ...ctx(), store: Store.open(ctx().database, ctx().sealer, ctx().clock, regions) })
  })
  afterAll(async () => {
    await w.close()
    await regions.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("creates a WABA in a configured region only, and moves it to another with its channels' PIN", async () => {
    const url = `/partner/v1/clients/${w.pa.client.id}/wabas`
    const refused = await w.partner(w.pa, { method: 'POST', url, payload: { name: 'Indian WABA', data_localization_region: 'in' } })
    expect(refused.statusCode).toBe(400)
    expect(refused.json()).toMatchObject({ error: { code: 'invalid_request', message: 'region IN is not configured in this deployment (configured regions: DE, BR); the operator adds one with --region IN=LOCATION' } })
    const created = await w.partner(w.pa, { method: 'POST', url, payload: { name: 'German WABA', data_localization_region: 'de' } })
    expect(created.statusCode, created.body).toBe(201)
    const waba = created.json() as { id: string; data_localization_region: string }
    expect(waba.data_localization_region).toBe('DE')

    await w.store.numbers.create({ id: '7500001', cc: '49', number: '7500001', displayName: 'Laden', wabaId: waba.id })
    await w.store.numbers.update('7500001', { pin_hash: await hashPassword('123456') })
    await w.store.messages.insertOutbound([{ id: messageId(), phoneNumberId: '7500001', to: '15550001111', type: 'text', content: { text: { body: 'hallo' } }, shard: 0 }])

    const move = (payload: object, who = w.pa) => w.partner(who, { method: 'POST', url: `/partner/v1/wabas/${waba.id}/region`, payload })
    expect((await move({ data_localization_region: 'BR', pin: '123456' }, w.pb)).statusCode).toBe(404)
    expect((await move({ data_localization_region: 'BR' })).json()).toMatchObject({ error: { code: 'invalid_request', message: expect.stringContaining("'pin'") } })
    const wrong = await move({ data_localization_region: 'BR', pin: '111111' })
    expect(wrong.statusCode).toBe(400)
    expect(wrong.json()).toMatchObject({ error: { graph_code: 133005, message: expect.stringContaining('two-step verification PIN does not match') } })
    const moved = await move({ data_localization_region: 'br', pin: '123456' })
    expect(moved.statusCode, moved.body).toBe(200)
    expect(moved.json()).toMatchObject({ waba_id: waba.id, from: 'DE', to: 'BR', rows_moved: 1, media_files_moved: 0, duration_ms: expect.any(Number) })
    expect(await regions.get('BR')!.count('7500001')).toBe(1)
    expect(await regions.get('DE')!.count('7500001')).toBe(0)
    const audit = await w.partner(w.pa, { method: 'GET', url: '/partner/v1/audit?action=waba.region' })
    expect(audit.json()).toMatchObject({ data: [{ object_id: waba.id, detail: { from: 'DE', to: 'BR', rows_moved: 1 } }] })
  })
})
