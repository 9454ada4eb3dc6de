import { once } from 'node:events'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { eventually, startWabox, type WaboxProcess } from './wabox-process.js'
import { WebhookReceiver } from './webhook-receiver.js'

/** A PNG header and filler: enough for wabox's type sniffing, small enough to send fast. */
export const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(300, 7)])

/** What a phone's inbox or outbox lists (the control API's shape, the fields tests read). */
export interface PhoneMessage {
  id: string
  from?: string
  to?: string
  content: { type: string; text?: { body: string }; template?: { name: string; body: string } }
  mediaFile?: string
  readAt?: string
}

interface CloudValue {
  metadata: { phone_number_id: string }
  messages?: { id: string }[]
  statuses?: { id: string }[]
}

/** The ids of the messages and statuses in a Cloud webhook body. */
function eventIdsOf(body: unknown): string[] {
  const entries = (body as { entry?: { changes?: { value?: CloudValue }[] }[] }).entry ?? []
  return entries.flatMap((e) => e.changes ?? []).flatMap((c) => [...(c.value?.messages ?? []), ...(c.value?.statuses ?? [])].map((m) => m.id))
}

/**
 * A real `wabox start` over HTTP with its Cloud-hosted demo number, two phones that greeted it,
 * a webhook receiver the app is subscribed to, and a file server for `link` media.
 */
export class CloudWorld {
  readonly receiver = new WebhookReceiver()
  readonly #dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-sdks-'))
  readonly #files = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(PNG))
  #wabox: WaboxProcess | undefined

  /** `args`: more arguments for `wabox start` (e.g. `--log-level info` to read its info lines). */
  constructor(private readonly options: { args?: string[] } = {}) {}

  get wabox(): WaboxProcess {
    if (!this.#wabox) throw new Error('the world is not started')
    return this.#wabox
  }

  get cloud() {
    return this.wabox.creds.cloud
  }

  /** The Cloud-hosted demo number's wa_id. */
  get business(): string {
    return this.wabox.creds.numbers.find((n) => n.platform_type === 'CLOUD_API')!.wa_id
  }

  get phones(): string[] {
    return this.wabox.creds.phones
  }

  async start(): Promise<void> {
    await this.receiver.start()
    this.#files.listen(0, '127.0.0.1')
    await once(this.#files, 'listening')
    this.#wabox = await startWabox(this.#dataDir, 2, this.options.args ? { args: this.options.args } : {})
    await this.#subscribeApp()
  }

  /** A URL of the file server that answers a PNG (`PNG`). */
  fileUrl(name: string): string {
    return `http://127.0.0.1:${(this.#files.address() as AddressInfo).port}/${name}`
  }

  /** What a user does once in the App Dashboard: the app's callback, with the handshake. */
  async #subscribeApp(): Promise<void> {
    const { base_url: base, api_version: v, app_id: appId, app_secret: secret, verify_token: verifyToken } = this.cloud
    const res = await fetch(`${base}/${v}/${appId}/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${appId}|${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ object: 'whatsapp_business_account', callback_url: this.receiver.url('/app'), verify_token: verifyToken, fields: 'messages' }),
    })
    if (res.status !== 200) throw new Error(`subscribing the app failed: ${res.status} ${await res.text()}`)
  }

  /** The phone's inbox message `id` from the Cloud number, once it has arrived. */
  received(phone: string, id: string): Promise<PhoneMessage> {
    return eventually(async () => {
      const inbox = (await this.wabox.control('GET', `/control/phones/${phone}/inbox`)).messages as PhoneMessage[]
      return inbox.find((m) => m.id === id && m.from === this.business)
    })
  }

  /** Has the phone send a text to the Cloud number; resolves with its id once its webhook came in. */
  async inbound(phone: string, text: string): Promise<string> {
    const sent = await this.wabox.control('POST', `/control/phones/${phone}/send`, { to: this.business, type: 'text', text })
    const { id } = sent.message as { id: string }
    await this.webhookWith(id)
    return id
  }

  /** The first webhook POST (bytes and headers as received) carrying the message or status `id`. */
  webhookWith(id: string): Promise<WebhookReceiver['posts'][number]> {
    return this.receiver.waitFor(() => this.receiver.posts.find((p) => eventIdsOf(p.body).includes(id)))
  }

  /** The phone's outbound message `id` once the business's read receipt reached it. */
  readByBusiness(phone: string, id: string): Promise<PhoneMessage> {
    return eventually(async () => {
      const outbox = (await this.wabox.control('GET', `/control/phones/${phone}/outbox`)).messages as PhoneMessage[]
      return outbox.find((m) => m.id === id && m.readAt !== undefined)
    })
  }

  /** The businesses the phone shows typing now. */
  async typingTo(phone: string): Promise<string[]> {
    return ((await this.wabox.control('GET', `/control/phones/${phone}`)) as { typing: string[] }).typing
  }

  async close(): Promise<void> {
    const child = this.#wabox?.child
    if (child && child.exitCode === null) {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
    await this.receiver.close()
    await new Promise((resolve) => this.#files.close(resolve))
    fs.rmSync(this.#dataDir, { recursive: true, force: true })
  }
}
