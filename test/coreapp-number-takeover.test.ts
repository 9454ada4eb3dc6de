import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { builtInNetworkControl, provision } from '../src/cli/provision.js'
import { CoreApp } from '../src/coreapp/coreapp.js'
import { WaboxError } from '../src/errors/index.js'
import { MediaVolume } from '../src/media/volume.js'
import { BUSINESS, startHarness, TEST_TUNING, waitFor, type Harness } from './coreapp-harness.js'
import { createTestDatabase, describeEachDatabase, DIALECTS, type TestDatabase } from './helpers/databases.js'
import { call, createWebTest, firstError, type WebTest } from './helpers/webapp.js'

interface LogLine {
  level: number
  owner: string
  msg: string
}

const WARN = 40

/**
 * Two installs of wabox (two databases) on one network, both with the demo number: the
 * second may not take the number by accident, and the one that loses it says so.
 */
for (const dialect of DIALECTS) {
  describe(`a number registered by another install [${dialect}]`, () => {
    let h: Harness
    let other: TestDatabase
    const lines: LogLine[] = []
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) })
    const apps: CoreApp[] = []
    const warnings = (owner: string) => lines.filter((l) => l.level === WARN && l.owner === owner && l.msg.includes('+15550100'))

    const start = async (db: TestDatabase, ownerId: string): Promise<CoreApp> => {
      const media = new MediaVolume({ root: path.join(db.dir, `media-${ownerId}`), key: randomBytes(32), store: db.store })
      const app = new CoreApp({ store: db.store, clock: db.clock, logger, networkUrl: h.network.wsUrl, media, ownerId, tuning: TEST_TUNING })
      apps.push(app)
      await app.start()
      return app
    }
    const register = async (app: CoreApp, phoneNumberId: string, migrate?: boolean) => {
      const cert = Buffer.from(h.network.issueVnameCertificate(BUSINESS.cc, BUSINESS.number, BUSINESS.name)).toString('base64')
      await app.bridge.requestCode(phoneNumberId, { cc: BUSINESS.cc, phoneNumber: BUSINESS.number, method: 'sms', cert, ...(migrate ? { migrate } : {}) })
      await app.bridge.verify(phoneNumberId, (await h.network.lastCode(BUSINESS.cc, BUSINESS.number))!)
    }
    const row = async (db: TestDatabase, id: string) => (await db.store.numbers.get(id))!
    const connected = (db: TestDatabase, id: string) => waitFor(async () => (await row(db, id)).gateway_status === 'connected', `${id} connected`)
    // the first install's API, to see what /v1/health says
    let web: WebTest
    const health = async () => (await call(web.app, { d360: await h.store.apiKeys.create(BUSINESS.id, 'd360', 'health') }, { method: 'GET', url: '/v1/health' })).json() as Record<string, unknown>

    let first: CoreApp
    let second: CoreApp

    beforeAll(async () => {
      h = await startHarness(dialect, { phones: 0, register: false })
      await h.app.stop()
      first = await start(h.db, 'install-1')
      await register(first, BUSINESS.id)
      await connected(h.db, BUSINESS.id)
      other = await createTestDatabase(dialect, { label: 'takeover' })
      await other.store.numbers.create({ id: 'pn-other', cc: BUSINESS.cc, number: BUSINESS.number, displayName: BUSINESS.name })
      second = await start(other, 'install-2')
      web = await createWebTest(h.db)
    })
    afterAll(async () => {
      await web?.close()
      for (const app of apps) await app.stop()
      await other?.cleanup()
      await h?.cleanup()
    })

    it('refuses the second install with 409 naming the number and the fix; the first stays connected', async () => {
      const refused = await register(second, 'pn-other').then(() => undefined, (e: unknown) => e)
      expect(refused).toBeInstanceOf(WaboxError)
      const err = refused as WaboxError
      expect([err.code, err.httpStatus]).toEqual([1004, 409])
      expect(err.details).toContain('+15550100')
      expect(err.details).toContain('"migrate": true')
      expect(await row(other, 'pn-other')).toMatchObject({ status: 'unregistered', network_secret: null })
      expect(await row(h.db, BUSINESS.id)).toMatchObject({ status: 'registered', gateway_status: 'connected' })
      expect(await health()).toMatchObject({ health: { gateway_status: 'connected' } })
      expect(await health()).not.toHaveProperty('errors')
      expect(lines.filter((l) => l.level >= WARN)).toEqual([])
    })

    it('fails the second install\'s first-start provisioning with a message naming the number and the fix', async () => {
      const failed = provision.run({
        dataDir: path.join(other.dir, 'data'), apiUrl: 'http://127.0.0.1:1', controlUrl: h.network.url, controlToken: 't', existing: undefined,
        store: other.store, network: builtInNetworkControl(h.network, 't'), bridge: second.bridge, fleet: undefined, phones: 0,
      })
      await expect(failed).rejects.toThrow(/demo number \+15550100 is already registered .*by another wabox install: start that install .*--data-dir.* or leave out --network-url/)
      expect(await row(h.db, BUSINESS.id)).toMatchObject({ status: 'registered', gateway_status: 'connected' })
    })

    it('moves the number with migrate: true; the first install logs the loss once at warn and stops connecting', async () => {
      await register(second, 'pn-other', true)
      await connected(other, 'pn-other')
      await waitFor(async () => (await row(h.db, BUSINESS.id)).status === 'unregistered', 'the first install sees the loss')
      expect(await row(h.db, BUSINESS.id)).toMatchObject({ gateway_status: 'unregistered' })
      // the lost number's engine stops and gives its lease back: nothing left that could log again
      await waitFor(async () => first.ownedShards().size === 0 && (await h.store.shardLeases.list(BUSINESS.id)).length === 0, 'lease released')
      // the warning follows the conditional mark, which others may see committed a moment earlier
      await waitFor(() => warnings('install-1').length > 0, 'the loss logged')
      expect(warnings('install-1')).toHaveLength(1)
      expect(warnings('install-1')[0]!.msg).toMatch(/registered .*another (device|install)/)
      expect(warnings('install-2')).toEqual([])

      const shown = await health()
      expect(shown).toMatchObject({ health: { gateway_status: 'unregistered' }, errors: [{ code: 1011, title: 'Service not ready' }] })
      const details = (shown.errors as { details: string }[])[0]!.details
      expect(details).toContain('+15550100')
      expect(details).toContain('"migrate": true')
    })

    it('an install that finds its login refused at start marks the number lost, once', async () => {
      await second.stop()
      // the first install takes the number back while the second is down
      await register(first, BUSINESS.id, true)
      await connected(h.db, BUSINESS.id)
      const restarted = await start(other, 'install-2b')
      await waitFor(async () => (await row(other, 'pn-other')).status === 'unregistered', 'the second install sees the loss')
      await waitFor(() => restarted.ownedShards().size === 0, 'the lost number stops')
      await waitFor(() => warnings('install-2b').length > 0, 'the loss logged')
      expect(warnings('install-2b')).toHaveLength(1)
      expect(await row(h.db, BUSINESS.id)).toMatchObject({ status: 'registered', gateway_status: 'connected' })
    })
  })
}

describeEachDatabase('POST /v1/account with migrate', (ctx) => {
  it('passes "migrate": true on to the CoreApp and refuses a migrate that is not a boolean', async () => {
    const t = await createWebTest(ctx())
    try {
      const body = { cc: '34', phone_number: '600333444', method: 'sms', cert: 'Q0VSVA==' }
      const moved = await call(t.app, { bearer: t.admin }, { method: 'POST', url: '/v1/account', payload: { ...body, migrate: true } })
      expect(moved.statusCode).toBe(202)
      expect(t.bridge.last('requestCode')?.[1]).toMatchObject({ cc: '34', phoneNumber: '600333444', migrate: true })
      const bad = await call(t.app, { bearer: t.admin }, { method: 'POST', url: '/v1/account', payload: { ...body, migrate: 'yes' } })
      expect(bad.statusCode).toBe(400)
      expect(firstError(bad).details).toContain('migrate')
    } finally {
      await t.close()
    }
  })
})
