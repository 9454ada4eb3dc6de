import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { expect, it } from 'vitest'
import type { AccessTokenScope } from '../src/domain/hosting.js'
import { secretDigest } from '../src/store/users.js'
import { describeEachDatabase } from './helpers/databases.js'

const BOTH: AccessTokenScope[] = ['whatsapp_business_messaging', 'whatsapp_business_management']

describeEachDatabase('store cloud accounts', (ctx) => {
  let n = 0
  async function number(wabaId: string | null = null) {
    n++
    const id = `cloud-pn-${n}`
    await ctx().store.numbers.create({ id, cc: '1', number: `555100${n}`, displayName: `Cloud ${n}`, wabaId })
    return id
  }

  it('creates WABAs and apps with Meta-style numeric ids, and reads them back', async () => {
    const { store, clock } = ctx()
    const app = await store.apps.create({ name: 'Shop app' })
    expect(app.id).toMatch(/^[1-9][0-9]{14}$/)
    expect(app.secret).toMatch(/^[0-9a-f]{32}$/)
    const waba = await store.wabas.create({ name: 'Shop', appId: app.id })
    expect(waba).toEqual({ id: expect.stringMatching(/^[1-9][0-9]{14}$/) as unknown, name: 'Shop', appId: app.id, dataLocalizationRegion: null, createdAt: clock.now() })
    expect(await store.wabas.get(waba.id)).toEqual(waba)
    expect(await store.apps.get(app.id)).toEqual({ id: app.id, name: 'Shop app', createdAt: clock.now() })
    expect(await store.apps.secret(app.id)).toBe(app.secret)
    expect(await store.wabas.get('1')).toBeUndefined()
    expect((await store.wabas.list()).map((w) => w.id)).toContain(waba.id)
    const chosen = await store.wabas.create({ id: '102290129340398', name: 'Given id' })
    expect(chosen.appId).toBeNull()
    await expect(store.wabas.create({ id: 'waba-1', name: 'x' })).rejects.toThrow(/numeric string/)
    expect(await store.wabas.setApp(chosen.id, app.id)).toBe(true)
    expect((await store.wabas.get(chosen.id))?.appId).toBe(app.id)
    expect(await store.wabas.setApp('404', app.id)).toBe(false)
  })

  it('a number is ON_PREMISE outside any WABA until moved; listByWaba finds a WABA\'s numbers', async () => {
    const { store } = ctx()
    const waba = await store.wabas.create({ name: 'Hosting' })
    const plain = await number()
    expect(await store.numbers.hosting(plain)).toEqual({ wabaId: null, platformType: 'ON_PREMISE' })
    expect((await store.numbers.get(plain))?.platform_type).toBe('ON_PREMISE')
    const cloud = await number(waba.id)
    expect(await store.numbers.setHosting(cloud, { platformType: 'CLOUD_API' })).toBe(true)
    expect(await store.numbers.hosting(cloud)).toEqual({ wabaId: waba.id, platformType: 'CLOUD_API' })
    expect(await store.numbers.setHosting(plain, { wabaId: waba.id })).toBe(true)
    expect((await store.numbers.listByWaba(waba.id)).map((r) => r.id).sort()).toEqual([cloud, plain].sort())
    expect(await store.numbers.setHosting('nope', { wabaId: null })).toBe(false)
    expect(await store.numbers.hosting('nope')).toBeUndefined()
  })

  it('an access token is shown once, verifies to its WABA and scopes, and stops working once revoked', async () => {
    const { store, clock } = ctx()
    const waba = await store.wabas.create({ name: 'Tokens' })
    const token = await store.accessTokens.create(waba.id, ['whatsapp_business_management', 'whatsapp_business_messaging'], 'ci')
    expect(token).toMatch(/^EAA[0-9A-Za-z]{192}$/)
    expect(await store.accessTokens.verify(token)).toEqual({ wabaId: waba.id, scopes: BOTH, label: 'ci', createdAt: clock.now() })
    // tokens of the same millisecond are listed in no particular order
    clock.tick(1)
    const messagingOnly = await store.accessTokens.create(waba.id, ['whatsapp_business_messaging'], '')
    expect((await store.accessTokens.verify(messagingOnly))?.scopes).toEqual(['whatsapp_business_messaging'])
    expect(await store.accessTokens.verify(token.slice(0, -1))).toBeUndefined()
    expect(await store.accessTokens.verify('')).toBeUndefined()
    await expect(store.accessTokens.create(waba.id, ['admin' as AccessTokenScope], 'x')).rejects.toThrow(/scope admin/)
    await expect(store.accessTokens.create(waba.id, [], 'x')).rejects.toThrow(/at least one scope/)

    clock.tick(5000)
    expect(await store.accessTokens.revoke(token)).toBe(true)
    expect(await store.accessTokens.verify(token)).toBeUndefined()
    expect(await store.accessTokens.revoke(token)).toBe(false)
    const listed = await store.accessTokens.list(waba.id)
    expect(listed.map((t) => [t.label, t.revokedAt])).toEqual([['ci', clock.now()], ['', null]])
    expect(JSON.stringify(listed)).not.toContain(token)
    // only the digest is in the database
    const rows = await store.ctx.db.selectFrom('access_tokens').select('token_hash').execute()
    expect(rows.map((r) => r.token_hash)).toContain(secretDigest(token))
  })

  it('the app access token <app_id>|<app_secret> verifies as the app, and nothing else does', async () => {
    const { store } = ctx()
    const app = await store.apps.create({ name: 'App token' })
    const other = await store.apps.create({ name: 'Other' })
    expect(await store.accessTokens.verifyApp(`${app.id}|${app.secret}`)).toEqual({ appId: app.id })
    for (const bad of [`${app.id}|${other.secret}`, `${app.id}|`, `${app.id}|${app.secret}x`, app.secret, `999|${app.secret}`, `x${app.id}|${app.secret}`]) {
      expect(await store.accessTokens.verifyApp(bad), bad).toBeUndefined()
    }
    // an app token is not a system-user token
    expect(await store.accessTokens.verify(`${app.id}|${app.secret}`)).toBeUndefined()
  })

  it('stores subscriptions at the three levels, each replaceable and removable', async () => {
    const { store } = ctx()
    const app = await store.apps.create({ name: 'Subs' })
    const waba = await store.wabas.create({ name: 'Subs', appId: app.id })
    const pn = await number(waba.id)
    expect(await store.webhookSubscriptions.setApp(app.id, { url: 'https://app.example.com/hook', verifyToken: 'vt-app', fields: ['messages', 'messages', 'account_update'] })).toBe(true)
    expect(await store.webhookSubscriptions.setWaba(waba.id, { url: 'https://waba.example.com/hook', verifyToken: 'vt-waba' })).toBe(true)
    expect(await store.webhookSubscriptions.setPhone(pn, { url: 'https://phone.example.com/hook', verifyToken: 'vt-phone' })).toBe(true)
    expect(await store.webhookSubscriptions.getApp(app.id)).toEqual({ url: 'https://app.example.com/hook', verifyToken: 'vt-app', fields: ['messages', 'account_update'] })
    expect(await store.webhookSubscriptions.getWaba(waba.id)).toEqual({ url: 'https://waba.example.com/hook', verifyToken: 'vt-waba' })
    expect(await store.webhookSubscriptions.getPhone(pn)).toEqual({ url: 'https://phone.example.com/hook', verifyToken: 'vt-phone' })
    expect(await store.webhookSubscriptions.routesFor(pn, 'https://setting.example.com/')).toEqual({
      app: { url: 'https://app.example.com/hook', verifyToken: 'vt-app', fields: ['messages', 'account_update'] },
      waba: { url: 'https://waba.example.com/hook', verifyToken: 'vt-waba' },
      phone: { url: 'https://phone.example.com/hook', verifyToken: 'vt-phone' },
      numberSetting: 'https://setting.example.com/',
    })

    await store.webhookSubscriptions.setPhone(pn, null)
    await store.webhookSubscriptions.setWaba(waba.id, null)
    await store.webhookSubscriptions.setApp(app.id, null)
    expect(await store.webhookSubscriptions.getPhone(pn)).toBeUndefined()
    expect(await store.webhookSubscriptions.getWaba(waba.id)).toBeUndefined()
    expect(await store.webhookSubscriptions.getApp(app.id)).toBeUndefined()
    expect(await store.webhookSubscriptions.routesFor(pn, null)).toEqual({ app: null, waba: null, phone: null, numberSetting: null })
    expect(await store.webhookSubscriptions.setApp('404', null)).toBe(false)
    expect(await store.webhookSubscriptions.setWaba('404', null)).toBe(false)
    expect(await store.webhookSubscriptions.setPhone('404', null)).toBe(false)
    // a number outside any WABA has only its own override
    const loose = await number()
    expect(await store.webhookSubscriptions.routesFor(loose, null)).toEqual({ app: null, waba: null, phone: null, numberSetting: null })
    expect(await store.webhookSubscriptions.routesFor('404', null)).toBeUndefined()
  })

  it('keeps callback URLs, verify tokens and the app secret sealed in the database', async () => {
    const { store, database } = ctx()
    const marker = 'M' + randomBytes(8).toString('hex')
    const app = await store.apps.create({ name: 'Sealed' })
    const waba = await store.wabas.create({ name: 'Sealed', appId: app.id })
    const pn = await number(waba.id)
    await store.webhookSubscriptions.setApp(app.id, { url: `https://a.example.com/${marker}`, verifyToken: `${marker}-a`, fields: ['messages'] })
    await store.webhookSubscriptions.setWaba(waba.id, { url: `https://w.example.com/${marker}`, verifyToken: `${marker}-w` })
    await store.webhookSubscriptions.setPhone(pn, { url: `https://p.example.com/${marker}`, verifyToken: `${marker}-p` })
    const dump = async (table: string) => JSON.stringify((await sql`select * from ${sql.table(table)}`.execute(database.db)).rows, (_k, v: unknown) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v)
    for (const table of ['apps', 'wabas', 'phone_numbers']) {
      const text = await dump(table)
      expect(text, table).not.toContain(marker)
      expect(text, table).not.toContain(app.secret)
    }
  })
})
