import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startWabox, stopWabox, type WaboxProcess } from './helpers/wabox-process.js'

describe('360dialog waba-v2 against wabox start, with plain fetch', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-d360-'))
  let wabox: WaboxProcess

  beforeAll(async () => {
    wabox = await startWabox(dataDir, 1)
  }, 60_000)

  afterAll(() => stopWabox(wabox, dataDir))

  it('sends a text with the Cloud number\'s D360-API-KEY to POST /messages, and the phone receives it', async () => {
    const { api_url: apiUrl, numbers, phones } = wabox.creds
    const cloudNumber = numbers.find((n) => n.platform_type === 'CLOUD_API')!
    const res = await fetch(`${apiUrl}/messages`, {
      method: 'POST',
      headers: { 'd360-api-key': cloudNumber.api_key, 'content-type': 'application/json' },
      body: JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to: phones[0], type: 'text', text: { body: 'Hello via waba-v2' } }),
    })
    const answer = (await res.json()) as { messaging_product: string; contacts: { input: string; wa_id: string }[]; messages: { id: string }[] }
    expect(res.status, JSON.stringify(answer)).toBe(200)
    expect(answer.contacts).toEqual([{ input: phones[0], wa_id: phones[0] }])
    const id = answer.messages[0]!.id
    const received = await eventually(async () => {
      const inbox = (await wabox.control('GET', `/control/phones/${phones[0]}/inbox`)).messages as { id: string; from: string }[]
      return inbox.find((m) => m.id === id && m.from === cloudNumber.wa_id)
    })
    expect(JSON.stringify(received)).toContain('Hello via waba-v2')
  })

  it('lists the Cloud number\'s templates from the network in 360dialog\'s shape', async () => {
    const { api_url: apiUrl, numbers } = wabox.creds
    const cloudNumber = numbers.find((n) => n.platform_type === 'CLOUD_API')!
    const res = await fetch(`${apiUrl}/v1/configs/templates`, { headers: { 'd360-api-key': cloudNumber.api_key } })
    const body = (await res.json()) as { total: number; waba_templates: { name: string; namespace: string; status: string }[] }
    expect(res.status, JSON.stringify(body)).toBe(200)
    expect(body.total).toBe(body.waba_templates.length)
    for (const t of body.waba_templates) expect(t).toMatchObject({ name: expect.any(String), namespace: expect.any(String), status: expect.any(String) })
  })
})
