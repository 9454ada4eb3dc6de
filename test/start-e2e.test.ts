import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { onPremStatus, onPremText, WebhookReceiver } from './helpers/webhook-receiver.js'

interface Credentials {
  api_url: string
  numbers: { wa_id: string; phone_number_id: string; api_key: string }[]
  phones: string[]
  control_url: string
  control_token: string
}

/** Retries `probe` until it returns a value; for state that only a poll can observe. */
async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (performance.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('wabox start (all-in-one, as a subprocess)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-e2e-'))
  const receiver = new WebhookReceiver()
  let child: ChildProcess
  let creds: Credentials

  beforeAll(async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WABOX_')))
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'start', '--data-dir', dataDir, '--port', '0', '--http', '--phones', '2', '--log-level', 'warn'], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout!.setEncoding('utf8')
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`wabox start exited early with ${code}: ${out}`)))
      child.stdout!.on('data', (chunk: string) => {
        out += chunk
        if (out.includes('wabox is running')) resolve()
      })
    })
    creds = JSON.parse(fs.readFileSync(path.join(dataDir, 'credentials.json'), 'utf8')) as Credentials
    expect(fs.statSync(path.join(dataDir, 'credentials.json')).mode & 0o777).toBe(0o600)
  }, 60_000)

  afterAll(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
    await receiver.close()
    fs.rmSync(dataDir, { recursive: true, force: true })
  })

  const api = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) => {
    const res = await request(creds.api_url + url, {
      method,
      headers: { 'd360-api-key': creds.numbers[0]!.api_key, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> }
  }
  const control = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
    const res = await request(creds.control_url + url, {
      method,
      headers: { authorization: `Bearer ${creds.control_token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return (await res.body.json()) as Record<string, unknown>
  }

  it('answers health as connected', async () => {
    const health = await api('GET', '/v1/health')
    expect(health.body.health).toEqual({ gateway_status: 'connected' })
  })

  it('delivers a message to a phone and a reply back, with every callback, over a D360 key', async () => {
    const business = creds.numbers[0]!.wa_id
    const phone = creds.phones[0]!
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

  it('stops cleanly on SIGTERM', async () => {
    child.kill('SIGTERM')
    const [code] = (await once(child, 'exit')) as [number | null]
    expect(code).toBe(0)
  })
})
