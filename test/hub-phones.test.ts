import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { controlHubPhones, fleetHubPhones } from '../src/cli/hub-wiring.js'
import { startNetworkServer, type NetworkServer } from '../src/network/index.js'
import { phoneControlRoutes } from '../src/phones/control-routes.js'
import { PhoneFleet } from '../src/phones/phone-fleet.js'
import { HubRefusal, type HubPhones } from '../src/webapp/hub/ports.js'
import { eventually } from './helpers/wabox-process.js'

const TOKEN = 'hub-control-token'

/** The Hub's phone port in both shapes: over the fleet in this process, and over a network's phone control API. */
describe('the Hub drives the simulated phones', () => {
  let dir: string
  let server: NetworkServer
  let fleet: PhoneFleet
  let local: HubPhones
  let remote: HubPhones

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wabox-hub-phones-'))
    server = await startNetworkServer({
      dataDir: join(dir, 'network'), port: 0, profile: 'dev', controlToken: TOKEN, logger: pino({ level: 'silent' }),
      register: async (app) => {
        await app.register(phoneControlRoutes, { fleet: () => fleet })
      },
    })
    fleet = await PhoneFleet.open({ dataDir: dir, networkUrl: server.wsUrl, codeSource: (cc, phone) => server.lastCode(cc, phone), fsync: false })
    local = fleetHubPhones(fleet)
    remote = controlHubPhones(server.url, TOKEN)
  })

  afterAll(async () => {
    await fleet.close()
    await server.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('creates and lists phones alike either way', async () => {
    const created = await remote.create(2)
    expect(created.map((p) => p.waId)).toEqual(['15550000001', '15550000002'])
    expect(await remote.list()).toEqual(await local.list())
    expect(created[0]).toMatchObject({ online: true, blocked: [], inbox: { total: 0, unread: 0 } })
  })

  it('sends as the customer and shows both sides of the chat, with envelope sizes only where the phone is in this process', async () => {
    const [a, b] = ['15550000001', '15550000002']
    const { id } = await remote.send(a, { type: 'text', to: b, text: 'hello b' })
    const received = await eventually(async () => (await local.chat(b, a)).find((m) => m.id === id))
    expect(received).toMatchObject({ direction: 'in', content: expect.objectContaining({ text: expect.objectContaining({ body: 'hello b' }) }) })
    const [sent] = await remote.chat(a, b)
    expect(sent).toMatchObject({ id, direction: 'out', envelopeBytes: null })
    expect((await remote.chat(b, a)).map((m) => m.id)).toEqual((await local.chat(b, a)).map((m) => m.id))
  })

  it('takes a phone offline and back, and refuses what cannot be done with the reason', async () => {
    for (const phones of [local, remote]) {
      await phones.setOnline('15550000002', false)
      expect((await phones.list()).find((p) => p.waId === '15550000002')?.online).toBe(false)
      await phones.setOnline('15550000002', true)
      await expect(phones.send('15559999999', { type: 'text', to: '15550000001', text: 'x' })).rejects.toMatchObject({ status: 404 })
      const bad = await phones.send('15550000001', { type: 'text', to: '15550000002' }).catch((err: unknown) => err)
      expect(bad).toBeInstanceOf(HubRefusal)
      expect(bad).toMatchObject({ status: 400, message: expect.stringMatching(/text/) })
    }
  })
})
