import fs from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { EarlierCredentials } from '../src/cli/credentials.js'
import { builtInNetworkControl, provision, type NetworkControl } from '../src/cli/provision.js'
import { PhoneFleet } from '../src/phones/index.js'
import { BUSINESS, logger, startHarness, waitFor, type Harness } from './coreapp-harness.js'
import { DIALECTS } from './helpers/databases.js'

const CLOUD_WA_ID = '15550101'
const CONTROL_TOKEN = 'control-token'

/**
 * A data directory from before Cloud hosting: the demo number registered (the harness's
 * BUSINESS is the demo number +15550100) in no WABA, one phone that greeted it, and the
 * credentials.json of that time.
 */
for (const dialect of DIALECTS) {
  describe(`wabox start on a data directory from before Cloud hosting [${dialect}]`, () => {
    let h: Harness
    let fleet: PhoneFleet
    let dataDir: string
    let old: EarlierCredentials

    beforeEach(async () => {
      h = await startHarness(dialect, { phones: 0 })
      dataDir = path.join(h.dir, 'data')
      fs.mkdirSync(dataDir)
      fleet = await PhoneFleet.open({ dataDir, networkUrl: h.network.wsUrl, codeSource: (cc, p) => h.network.lastCode(cc, p), clock: h.db.clock, logger, autoReadDelayMs: null })
      const [phone] = await fleet.create(1)
      await phone!.send({ to: BUSINESS.waId, type: 'text', text: 'Hi!' })
      old = {
        api_url: 'http://127.0.0.1:1',
        numbers: [{ wa_id: BUSINESS.waId, phone_number_id: BUSINESS.id, api_key: await h.store.apiKeys.create(BUSINESS.id, 'd360', 'demo') }],
        admin: { username: 'admin', password: 'secret', password_changed: false },
        phones: [phone!.waId],
        control_url: h.network.url,
        control_token: CONTROL_TOKEN,
      }
      fs.writeFileSync(path.join(dataDir, 'credentials.json'), JSON.stringify(old))
    })

    afterEach(async () => {
      await fleet.close()
      await h.cleanup()
    })

    const run = async (network: NetworkControl = builtInNetworkControl(h.network, CONTROL_TOKEN)) => {
      const { existing, controlToken } = await provision.prepare(dataDir)
      return provision.run({
        dataDir, apiUrl: 'http://127.0.0.1:2', controlUrl: h.network.url, controlToken, existing,
        store: h.store, network, bridge: h.app.bridge, fleet, phones: 5,
      })
    }

    it('puts the number in a new WABA and adds a registered Cloud number its phones greet', async () => {
      const creds = await run()
      expect(creds.numbers).toEqual([
        { ...old.numbers[0], platform_type: 'ON_PREMISE' },
        { wa_id: CLOUD_WA_ID, phone_number_id: creds.cloud.phone_number_id, api_key: expect.any(String), platform_type: 'CLOUD_API' },
      ])
      expect(creds.phones).toEqual(old.phones)
      expect(fleet.list()).toHaveLength(1)
      const { cloud } = creds
      expect(cloud).toMatchObject({ base_url: 'http://127.0.0.1:2', api_version: 'v23.0', waba_id: expect.stringMatching(/^[0-9]+$/), app_id: expect.stringMatching(/^[0-9]+$/) })
      expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'credentials.json'), 'utf8'))).toEqual(creds)

      // one token reaches both numbers: they share the WABA, each on its own platform
      expect(await h.store.accessTokens.verify(cloud.access_token)).toMatchObject({ wabaId: cloud.waba_id, scopes: ['whatsapp_business_messaging', 'whatsapp_business_management'] })
      expect(await h.store.numbers.hosting(BUSINESS.id)).toEqual({ wabaId: cloud.waba_id, platformType: 'ON_PREMISE' })
      expect(await h.store.numbers.hosting(cloud.phone_number_id)).toEqual({ wabaId: cloud.waba_id, platformType: 'CLOUD_API' })
      expect(await h.store.apps.verifyToken(`${cloud.app_id}|${cloud.app_secret}`)).toEqual({ appId: cloud.app_id })
      expect(await h.store.apiKeys.verify(creds.numbers[1]!.api_key)).toMatchObject({ phoneNumberId: cloud.phone_number_id })
      expect(await h.store.numbers.get(cloud.phone_number_id)).toMatchObject({ status: 'registered' })

      // the phone's hello reached the Cloud number's engine: its 24-hour window is open
      const phone = fleet.get(old.phones[0]!)!
      await waitFor(async () => (await phone.outbox()).some((m) => m.to === CLOUD_WA_ID && m.status === 'delivered'), 'the Cloud number acknowledged the greeting')
    })

    it('keeps ids, keys and the access token on the next start, and makes nothing twice', async () => {
      const first = await run()
      const again = await run()
      expect(again).toEqual(first)
      expect(await h.store.wabas.list()).toHaveLength(1)
      expect(await h.store.apps.list()).toHaveLength(1)
      expect(await h.store.accessTokens.list(first.cloud.waba_id)).toHaveLength(1)
      expect(await h.store.numbers.listByWaba(first.cloud.waba_id)).toHaveLength(2)
      // the phone greeted the Cloud number once
      expect((await fleet.get(old.phones[0]!)!.outbox()).filter((m) => m.to === CLOUD_WA_ID)).toHaveLength(1)
    })

    it('resumes an upgrade that stopped half-way with the WABA and the number it made', async () => {
      const builtIn = builtInNetworkControl(h.network, CONTROL_TOKEN)
      const failing: NetworkControl = {
        ...builtIn,
        createTemplate: (waId, template) => waId === CLOUD_WA_ID ? Promise.reject(new Error('templates are down')) : builtIn.createTemplate(waId, template),
      }
      await expect(run(failing)).rejects.toThrow('templates are down')
      const [waba] = await h.store.wabas.list()
      const half = await h.store.numbers.getByWaId(CLOUD_WA_ID)
      expect(half).toMatchObject({ status: 'registered', waba_id: waba!.id })
      // credentials.json is still the old one: the next start knows the upgrade is not done
      expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'credentials.json'), 'utf8'))).toEqual(old)

      const creds = await run()
      expect(creds.cloud).toMatchObject({ waba_id: waba!.id, phone_number_id: half!.id })
      expect(await h.store.wabas.list()).toHaveLength(1)
      expect(await h.store.apps.list()).toHaveLength(1)
      const templates = await h.network.app.inject({ method: 'GET', url: `/control/accounts/${CLOUD_WA_ID}/templates`, headers: { authorization: `Bearer ${CONTROL_TOKEN}` } })
      expect(templates.json()).toMatchObject({ templates: [{ name: 'hello_world', status: 'APPROVED' }] })
    })
  })
}
