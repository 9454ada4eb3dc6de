import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { isContentReference, openRegions, type Regions } from '../src/store/regions.js'
import { Store } from '../src/store/store.js'
import { createCloudTest, graphError, type CloudTest } from './helpers/cloud.js'
import { createServerDatabase, describeEachDatabase, type ServerDatabase } from './helpers/databases.js'
import { addNumber } from './helpers/webapp.js'

describeEachDatabase('Cloud API: register with data_localization_region', (ctx, dialect) => {
  let t: CloudTest
  let dir: string
  let server: ServerDatabase | undefined
  let regions: Regions
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-register-region-'))
    server = dialect === 'sqlite' ? undefined : await createServerDatabase(dialect, 'register-region')
    regions = await openRegions([{ name: 'DE', url: server?.url, sqlitePath: server ? undefined : path.join(dir, 'region.db'), mediaRoot: path.join(dir, 'media') }], ctx().sealer, ctx().clock)
    t = await createCloudTest({ ...ctx(), store: Store.open(ctx().database, ctx().sealer, ctx().clock, regions) })
  })
  afterAll(async () => {
    await t.close()
    await regions.close()
    await server?.drop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  const graph = (method: InjectOptions['method'], url: string, payload?: object) =>
    t.app.inject({ method, url: `/v23.0${url}`, headers: { authorization: `Bearer ${t.token}` }, ...(payload ? { payload } : {}) })
  const register = (id: string, region?: string) => graph('POST', `/${id}/register`, { messaging_product: 'whatsapp', pin: '123456', ...(region ? { data_localization_region: region } : {}) })

  it("sets the WABA's region when it has none and no content, refuses an unconfigured or a different one, and the number's content then lives in the region", async () => {
    const fresh = await addNumber(t.store, `410${t.a.id.slice(3)}`, '1', `441${t.a.id.slice(3)}`, false)
    await t.store.numbers.setHosting(fresh.id, { wabaId: t.wabaId, platformType: 'CLOUD_API' })
    await t.store.numbers.update(fresh.id, { cert: 'CERT' })
    expect((await graph('POST', `/${fresh.id}/request_code`, { code_method: 'SMS', language: 'en_US' })).json()).toEqual({ success: true })
    expect((await graph('POST', `/${fresh.id}/verify_code`, { code: '123456' })).json()).toEqual({ success: true })

    expect(graphError(await register(fresh.id, 'IN'))).toMatchObject({ code: 100, error_data: { details: expect.stringContaining('region IN is not configured in this deployment (configured regions: DE)') } })
    expect((await t.store.wabas.get(t.wabaId))?.dataLocalizationRegion).toBeNull()
    const registered = await register(fresh.id, 'DE')
    expect(registered.json(), registered.body).toEqual({ success: true })
    expect((await t.store.wabas.get(t.wabaId))?.dataLocalizationRegion).toBe('DE')
    expect((await register(fresh.id, 'DE')).json()).toEqual({ success: true })
    expect(graphError(await register(fresh.id, 'BR'))).toMatchObject({ code: 100, error_data: { details: expect.stringContaining(`WABA ${t.wabaId} already keeps its data in region DE, not BR`) } })

    const sent = await graph('POST', `/${fresh.id}/messages`, { messaging_product: 'whatsapp', to: '15550001111', type: 'text', text: { body: 'residency' } })
    expect(sent.statusCode, sent.body).toBe(200)
    const rows = await ctx().database.db.selectFrom('messages').select('content').where('phone_number_id', '=', fresh.id).execute()
    expect(rows.length).toBeGreaterThan(0)
    for (const r of rows) expect(isContentReference(r.content)).toBe(true)
    expect(await regions.get('DE')!.count(fresh.id)).toBe(rows.length)

    // a WABA whose numbers already carry messages at home does not take a region by register
    await ctx().database.db.updateTable('wabas').set({ data_localization_region: null }).where('id', '=', t.wabaId).execute()
    regions.forget()
    expect(graphError(await register(fresh.id, 'DE'))).toMatchObject({ code: 100, error_data: { details: expect.stringContaining(`WABA ${t.wabaId} already has messages stored outside region DE`) } })
  })
})
