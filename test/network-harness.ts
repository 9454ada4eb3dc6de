import { once, type EventEmitter } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { TestClock } from '../src/clock.js'
import { startNetworkServer, type NetworkServer, type StartNetworkServerOptions } from '../src/network/server.js'
import { NetworkClient } from '../src/wire/client.js'
import type { KeysUpload, RegisterRequestResult, RegisterVerifyResult } from '../src/wire/frames.js'

export const silent = pino({ level: 'silent' })

export interface Credentials {
  waId: string
  password: string
}

/** A network server on an ephemeral port in a temp data dir, driven by a TestClock. */
export class Harness {
  readonly clock = new TestClock()
  readonly dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-network-'))
  server!: NetworkServer
  #clients: NetworkClient[] = []
  #options: Partial<StartNetworkServerOptions>

  private constructor(options: Partial<StartNetworkServerOptions>) {
    this.#options = options
  }

  static async start(options: Partial<StartNetworkServerOptions> = {}): Promise<Harness> {
    const harness = new Harness(options)
    harness.server = await startNetworkServer({ dataDir: harness.dataDir, clock: harness.clock, logger: silent, ...options })
    return harness
  }

  /** Stops the server and starts a new one on the same data dir and port (clients reconnect). */
  async restart(whileDown?: () => void): Promise<void> {
    const port = Number(new URL(this.server.url).port)
    await this.server.close()
    whileDown?.()
    this.server = await startNetworkServer({ dataDir: this.dataDir, clock: this.clock, logger: silent, ...this.#options, port })
  }

  client(options: { reconnect?: boolean } = {}): NetworkClient {
    const client = new NetworkClient({ url: this.server.wsUrl, clock: this.clock, logger: silent, reconnect: options.reconnect ?? false })
    this.#clients.push(client)
    return client
  }

  /** Registers cc+phone; with `displayName` as a business (vname certificate from the control API). */
  async register(cc: string, phone: string, displayName?: string): Promise<Credentials> {
    const client = this.client()
    await client.connect()
    const cert = displayName ? await this.vnameCert(cc, phone, displayName) : undefined
    await client.request<RegisterRequestResult>({ t: 'register.request', cc, phone, method: 'sms', cert })
    const code = await this.server.lastCode(cc, phone)
    const result = await client.request<RegisterVerifyResult>({ t: 'register.verify', cc, phone, code: code! })
    await client.close()
    return result
  }

  /** Registers `count` phones +1 `prefix`NNNN at once (one connection, batched writes). */
  async registerPhones(count: number, prefix: string): Promise<RegisterVerifyResult[]> {
    const client = this.client()
    await client.connect()
    const phones = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`)
    await Promise.all(phones.map((phone) => client.request({ t: 'register.request', cc: '1', phone, method: 'sms' })))
    const codes = await Promise.all(phones.map((phone) => this.server.lastCode('1', phone)))
    return Promise.all(phones.map((phone, i) => client.request<RegisterVerifyResult>({ t: 'register.verify', cc: '1', phone, code: codes[i]! })))
  }

  async vnameCert(cc: string, phone: string, displayName: string): Promise<Uint8Array> {
    const { cert } = (await this.control('POST', '/control/vname-certificates', { cc, phone, displayName })).body as { cert: string }
    return Buffer.from(cert, 'base64')
  }

  /** A logged-in client. */
  async connect(account: Credentials, opts: { shard?: number; shards?: number; reconnect?: boolean } = {}): Promise<NetworkClient> {
    const client = this.client({ reconnect: opts.reconnect })
    await client.connect()
    await client.login(account.waId, account.password, { shard: opts.shard, shards: opts.shards })
    return client
  }

  /** Logs in with a listener for `event` attached first (pushes may share the login ack's TCP read). */
  async connectExpecting<T>(account: Credentials, event: string, count: number): Promise<{ client: NetworkClient; events: Promise<T[]> }> {
    const client = this.client()
    await client.connect()
    const events = nextEvents<T>(client, event, count)
    await client.login(account.waId, account.password)
    return { client, events }
  }

  async control(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
    const res = await fetch(this.server.url + url, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : undefined }
  }

  async close(): Promise<void> {
    await Promise.all(this.#clients.map((c) => c.close()))
    await this.server.close()
    fs.rmSync(this.dataDir, { recursive: true, force: true })
  }
}

/** Resolves with the next `count` events of `event`. */
export function nextEvents<T>(emitter: EventEmitter, event: string, count: number): Promise<T[]> {
  return new Promise((resolve) => {
    const seen: T[] = []
    const on = (value: T) => {
      seen.push(value)
      if (seen.length < count) return
      emitter.off(event, on)
      resolve(seen)
    }
    emitter.on(event, on)
  })
}

export async function nextEvent<T>(emitter: EventEmitter, event: string): Promise<T> {
  const [value] = (await once(emitter, event)) as [T]
  return value
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

/** A made-up but well-formed key upload: `preKeys` one-time EC keys and `kyber` one-time Kyber keys. */
export function keyUpload(preKeys: number, kyber: number, identity = 1): Omit<KeysUpload, 'v' | 'id'> {
  const key = (tag: number) => new Uint8Array(33).fill(tag)
  return {
    t: 'keys.upload',
    registrationId: 4242,
    identityKey: key(identity),
    signedPreKey: { id: 1, publicKey: key(2), signature: new Uint8Array(64).fill(3) },
    kyberPreKey: { id: 1000, publicKey: new Uint8Array(1568).fill(4), signature: new Uint8Array(64).fill(5) },
    preKeys: Array.from({ length: preKeys }, (_, i) => ({ id: i + 1, publicKey: key(10) })),
    kyberPreKeys: Array.from({ length: kyber }, (_, i) => ({ id: i + 1, publicKey: new Uint8Array(1568).fill(6), signature: new Uint8Array(64).fill(7) })),
  }
}
