import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStoreFromConfig } from '../src/cli/open-store.js'
import { resolveConfig } from '../src/config/config.js'
import type { Store } from '../src/store/store.js'
import { eventually, runWabox, startWabox, type Credentials, type WaboxProcess } from './helpers/wabox-process.js'

async function stop(wabox: WaboxProcess): Promise<void> {
  if (wabox.child.exitCode !== null) return
  wabox.child.kill('SIGTERM')
  await once(wabox.child, 'exit')
}

/** What a restart may change: the listeners' ports (the test asks for any free one). */
function withoutPorts(creds: Credentials) {
  const { api_url: _api, control_url: _control, cloud: { base_url: _base, ...cloud }, partner: { base_url: _partner, ...partner }, ...rest } = creds
  return { ...rest, cloud, partner }
}

describe('wabox start provisions an On-Prem and a Cloud-hosted number in one WABA', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-cloud-'))
  let wabox: WaboxProcess

  beforeAll(async () => {
    wabox = await startWabox(dataDir)
  }, 60_000)

  afterAll(async () => {
    await stop(wabox)
    fs.rmSync(dataDir, { recursive: true, force: true })
  })

  const inStore = async <T>(use: (store: Store) => Promise<T>): Promise<T> => {
    const { database, store } = await openStoreFromConfig(resolveConfig({}, { dataDir }))
    try {
      return await use(store)
    } finally {
      await database.close()
    }
  }

  it('lists both numbers and the cloud section in credentials.json', () => {
    const { numbers, cloud, api_url: apiUrl } = wabox.creds
    expect(numbers).toEqual([
      { wa_id: '15550100', phone_number_id: expect.stringMatching(/^[0-9]{15}$/), api_key: expect.any(String), platform_type: 'ON_PREMISE' },
      { wa_id: '15550101', phone_number_id: expect.stringMatching(/^[0-9]{15}$/), api_key: expect.any(String), platform_type: 'CLOUD_API' },
    ])
    expect(cloud).toEqual({
      base_url: apiUrl,
      api_version: 'v23.0',
      access_token: expect.stringMatching(/^EAA[0-9A-Za-z]{192}$/),
      app_id: expect.stringMatching(/^[0-9]+$/),
      app_secret: expect.stringMatching(/^[0-9a-f]{32}$/),
      verify_token: expect.stringMatching(/^.{16,}$/),
      waba_id: expect.stringMatching(/^[0-9]+$/),
      phone_number_id: numbers[1]!.phone_number_id,
    })
    // --http: plain HTTP on the API's own listener
    expect(apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:[0-9]+$/)
  })

  it('prints a curl for each dialect', () => {
    const { numbers, cloud, phones } = wabox.creds
    const banner = wabox.stderr().replace(/ \\\n +/g, ' ')
    expect(banner).toContain(`curl -X POST ${wabox.creds.api_url}/v1/messages -H 'D360-API-KEY: ${numbers[0]!.api_key}'`)
    expect(banner).toContain(`curl -X POST ${cloud.base_url}/v23.0/${cloud.phone_number_id}/messages -H 'Authorization: Bearer ${cloud.access_token}' -H 'Content-Type: application/json' ` +
      `-d '{"messaging_product":"whatsapp","to":"${phones[0]}","type":"text","text":{"body":"Hello from wabox"}}'`)
  })

  it('has every phone greet both numbers, so both have an open 24-hour window', async () => {
    for (const phone of wabox.creds.phones) {
      await eventually(async () => {
        const outbox = (await wabox.control('GET', `/control/phones/${phone}/outbox`)).messages as { to: string; status: string }[]
        const acked = (to: string) => outbox.some((m) => m.to === to && m.status !== 'sent' && m.status !== 'failed')
        return acked('15550100') && acked('15550101') ? true : undefined
      })
    }
  })

  it('sends a text with the Cloud curl the banner shows, from the Cloud number', async () => {
    const { cloud, phones } = wabox.creds
    const body = { messaging_product: 'whatsapp', to: phones[0], type: 'text', text: { body: 'Hello from wabox' } }
    const res = await request(`${cloud.base_url}/${cloud.api_version}/${cloud.phone_number_id}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cloud.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    const answer = (await res.body.json()) as { messages: { id: string }[] }
    expect(res.statusCode).toBe(200)
    const id = answer.messages[0]!.id
    await eventually(async () => {
      const inbox = (await wabox.control('GET', `/control/phones/${phones[0]}/inbox`)).messages as { id: string; from: string }[]
      return inbox.find((m) => m.id === id && m.from === '15550101')
    })
  })

  it('keeps the same ids, keys and tokens over a restart, and lists the token for the WABA', async () => {
    const first = wabox.creds
    await stop(wabox)
    await inStore(async (store) => {
      expect(await store.accessTokens.verify(first.cloud.access_token)).toMatchObject({ wabaId: first.cloud.waba_id })
      expect((await store.numbers.listByWaba(first.cloud.waba_id)).map((n) => n.wa_id).sort()).toEqual(['15550100', '15550101'])
    })
    const listed = await runWabox(['tokens', 'list', '--data-dir', dataDir, '--waba-id', first.cloud.waba_id])
    expect(listed.code).toBe(0)
    expect(listed.stdout.trim().split('\n').slice(1)).toEqual([expect.stringMatching(/^demo +whatsapp_business_messaging,whatsapp_business_management /)])

    wabox = await startWabox(dataDir)
    expect(withoutPorts(wabox.creds)).toEqual(withoutPorts(first))
    expect(wabox.creds.cloud.base_url).toBe(wabox.creds.api_url)
    expect((await wabox.api('GET', '/v1/health')).status).toBe(200)
  }, 90_000)
})
