import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { onPremStatus, onPremText, WebhookReceiver } from './helpers/webhook-receiver.js'
import { eventually, startWabox, type WaboxProcess } from './helpers/wabox-process.js'

describe('wabox start (all-in-one, as a subprocess)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-e2e-'))
  const receiver = new WebhookReceiver()
  let wabox: WaboxProcess

  beforeAll(async () => {
    wabox = await startWabox(dataDir)
    expect(fs.statSync(path.join(dataDir, 'credentials.json')).mode & 0o777).toBe(0o600)
  }, 60_000)

  afterAll(async () => {
    if (wabox.child.exitCode === null) {
      wabox.child.kill('SIGTERM')
      await once(wabox.child, 'exit')
    }
    await receiver.close()
    fs.rmSync(dataDir, { recursive: true, force: true })
  })

  const api: WaboxProcess['api'] = (...args) => wabox.api(...args)
  const control: WaboxProcess['control'] = (...args) => wabox.control(...args)

  it('answers health as connected', async () => {
    const health = await api('GET', '/v1/health')
    expect(health.body.health).toEqual({ gateway_status: 'connected' })
  })

  it('delivers a message to a phone and a reply back, with every callback, over a D360 key', async () => {
    const business = wabox.creds.numbers[0]!.wa_id
    const phone = wabox.creds.phones[0]!
    const hook = await api('POST', '/v1/configs/webhook', { url: await receiver.start() })
    expect(hook.status).toBe(200)

    const sent = await api('POST', '/v1/messages', { to: phone, type: 'text', text: { body: 'ping from the e2e test' } })
    expect(sent.status).toBeLessThan(300)
    const id = (sent.body.messages as { id: string }[])[0]!.id

    // sent_status is off by default, as on the On-Premises API: delivered and read only
    await receiver.waitFor(onPremStatus(id, 'delivered'))
    const inbox = (await control('GET', `/control/phones/${phone}/inbox`)).messages as { id: string; content: { text?: { body: string } } }[]
    expect(inbox.find((m) => m.id === id)?.content.text?.body).toBe('ping from the e2e test')
    await receiver.waitFor(onPremStatus(id, 'read'))

    await control('POST', `/control/phones/${phone}/send`, { to: business, type: 'text', text: 'pong from the phone' })
    const inbound = await receiver.waitFor(onPremText(phone, 'pong from the phone'))
    const read = await api('PUT', `/v1/messages/${inbound.id}`, { status: 'read' })
    expect(read.status).toBe(200)
    await eventually(async () => {
      const outbox = (await control('GET', `/control/phones/${phone}/outbox`)).messages as { id: string; status: string }[]
      return outbox.find((m) => m.id === inbound.id && m.status === 'read')
    })
  })

  it.runIf(process.platform === 'linux')('runs the engine thread at nice +5, the API thread at the process\'s own priority', () => {
    const pid = wabox.child.pid!
    // the nice value is field 19 of /proc/<pid>/task/<tid>/stat; the name before it may hold spaces
    const nice = (tid: string) => {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      return Number(stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[16])
    }
    const base = nice(String(pid))
    const lowered = fs.readdirSync(`/proc/${pid}/task`).filter((tid) => nice(tid) !== base).map(nice)
    expect(lowered).toEqual(base < 19 ? [Math.min(19, base + 5)] : [])
  })

  it('stops cleanly on SIGTERM', async () => {
    wabox.child.kill('SIGTERM')
    const [code] = (await once(wabox.child, 'exit')) as [number | null]
    expect(code).toBe(0)
  })
})
