import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWabox, stopWabox, type WaboxProcess } from './helpers/wabox-process.js'

describe('wabox start writes a working Partner API key pair', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-partner-'))
  let wabox: WaboxProcess

  beforeAll(async () => {
    wabox = await startWabox(dataDir)
  }, 60_000)

  afterAll(() => stopWabox(wabox, dataDir))

  it('lists both demo numbers as channels of the default client, with their phone_number_id', async () => {
    const { partner, numbers, cloud, api_url: apiUrl } = wabox.creds
    expect(partner).toEqual({ base_url: `${apiUrl}/partner/v1`, key_id: expect.stringMatching(/^pk_/), secret: expect.stringMatching(/^sk_/) })
    const auth = 'Basic ' + Buffer.from(`${partner.key_id}:${partner.secret}`).toString('base64')
    const res = await request(`${partner.base_url}/channels`, { headers: { authorization: auth } })
    expect(res.statusCode).toBe(200)
    const { data } = (await res.body.json()) as { data: { phone_number_id: string; wa_id: string; platform_type: string; status: string; waba_id: string }[] }
    expect(data.map((c) => [c.phone_number_id, c.wa_id, c.platform_type, c.status, c.waba_id])).toEqual([
      [numbers[0]!.phone_number_id, numbers[0]!.wa_id, 'ON_PREMISE', 'CONNECTED', cloud.waba_id],
      [numbers[1]!.phone_number_id, numbers[1]!.wa_id, 'CLOUD_API', 'CONNECTED', cloud.waba_id],
    ])
  })
})
