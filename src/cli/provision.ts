import { randomInt } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { CoreBridge } from '../domain/bridge.js'
import type { PlatformType } from '../domain/hosting.js'
import { OnPremCode, WaboxError } from '../errors/index.js'
import { randomToken } from '../ids.js'
import { request } from 'undici'
import type { NetworkServer } from '../network/index.js'
import type { Phone, PhoneFleet } from '../phones/index.js'
import { privateDir } from '../private-files.js'
import type { Store } from '../store/store.js'
import { DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD } from '../store/users.js'
import { readCredentials, writeCredentials, type Credentials, type EarlierCredentials, type NumberCredentials } from './credentials.js'
import { partnerCredentials } from './demo-partner.js'
import { attachNumber, cloudCredentials, demoWaba } from './demo-waba.js'

export type { Credentials } from './credentials.js'

export interface DemoNumber {
  cc: string
  number: string
  displayName: string
  platformType: PlatformType
}

export const ON_PREM_DEMO: DemoNumber = { cc: '1', number: '5550100', displayName: 'wabox demo', platformType: 'ON_PREMISE' }
export const CLOUD_DEMO: DemoNumber = { cc: '1', number: '5550101', displayName: 'wabox cloud demo', platformType: 'CLOUD_API' }
const WELCOME_TEMPLATE = {
  name: 'hello_world',
  language: 'en_US',
  category: 'UTILITY',
  components: [{ type: 'BODY', text: 'Hello {{1}}, welcome to wabox!' }],
}
const TEMPLATE_EXISTS = 409
/** How long a first start waits for the engine to store the phones' greetings: 30 s in polls of 50 ms. */
const GREETING_POLL_MS = 50
const GREETING_POLLS = 600

/** The network operator calls provisioning needs: in-process for the built-in network, HTTP for an external one. */
export interface NetworkControl {
  /** A vname certificate for a business number, base64. */
  vnameCertificate(cc: string, phone: string, displayName: string): Promise<string>
  lastCode(cc: string, phone: string): Promise<string | undefined>
  /** Creates a template; one of that name and language is kept (a resumed start made it already). */
  createTemplate(waId: string, template: object): Promise<void>
}

export function builtInNetworkControl(network: NetworkServer, controlToken: string): NetworkControl {
  return {
    vnameCertificate: async (cc, phone, name) => Buffer.from(network.issueVnameCertificate(cc, phone, name)).toString('base64'),
    lastCode: (cc, phone) => network.lastCode(cc, phone),
    createTemplate: async (waId, template) => {
      const created = await network.app.inject({
        method: 'POST',
        url: `/control/accounts/${waId}/templates`,
        headers: { authorization: `Bearer ${controlToken}` },
        payload: template,
      })
      if (created.statusCode !== 201 && created.statusCode !== TEMPLATE_EXISTS) throw new Error(`creating the welcome template failed: ${created.body}`)
    },
  }
}

/** An external network's `/control` API (`wabox network`, or a benchmark's own network process). */
export function httpNetworkControl(controlUrl: string, controlToken: string | undefined): NetworkControl {
  const call = async (method: 'GET' | 'POST', url: string, body?: object): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await request(controlUrl.replace(/\/$/, '') + url, {
      method,
      headers: { 'content-type': 'application/json', ...(controlToken ? { authorization: `Bearer ${controlToken}` } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    })
    const text = await res.body.text()
    return { status: res.statusCode, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
  }
  return {
    vnameCertificate: async (cc, phone, displayName) => {
      const res = await call('POST', '/control/vname-certificates', { cc, phone, displayName })
      if (res.status >= 300 || typeof res.json.cert !== 'string') throw new Error(`the network refused a vname certificate: ${res.status} ${JSON.stringify(res.json)}`)
      return res.json.cert
    },
    lastCode: async (cc, phone) => {
      const res = await call('GET', `/control/codes/${cc}/${phone}`)
      return res.status === 200 && typeof res.json.code === 'string' ? res.json.code : undefined
    },
    createTemplate: async (waId, template) => {
      const res = await call('POST', `/control/accounts/${waId}/templates`, template)
      if (res.status !== 201 && res.status !== TEMPLATE_EXISTS) throw new Error(`creating the welcome template failed: ${res.status} ${JSON.stringify(res.json)}`)
    },
  }
}

export interface ProvisionInput {
  dataDir: string
  apiUrl: string
  controlUrl: string
  controlToken: string
  existing: EarlierCredentials | undefined
  store: Store
  network: NetworkControl
  bridge: CoreBridge
  /** Absent with an external network: its phones are not this process's. */
  fleet: PhoneFleet | undefined
  phones: number
}

/** What credentials.json says about the `admin` login: the default password only while it is in use. */
export async function adminLogin(store: Store): Promise<Credentials['admin']> {
  const changed = (await store.users.get(DEFAULT_ADMIN))?.passwordChanged ?? false
  return { username: DEFAULT_ADMIN, password: changed ? null : DEFAULT_ADMIN_PASSWORD, password_changed: changed }
}

/** The network refused a demo number because another install holds it: say which and what to do instead. */
function demoNumberHeld(err: unknown, demo: DemoNumber, networkUrl: string): unknown {
  if (!(err instanceof WaboxError) || err.code !== OnPremCode.RESOURCE_ALREADY_EXISTS) return err
  return new Error(`the demo number +${demo.cc}${demo.number} is already registered on the network at ${networkUrl} by another wabox install: ` +
    'start that install (its --data-dir) instead of a new one, or leave out --network-url so that this one runs a network of its own', { cause: err })
}

/** A demo number provisioned: `fresh` when this start made it (earlier credentials did not list it). */
export type Provisioned = NumberCredentials & { fresh: boolean }

/**
 * A demo number, its registration on the network, welcome template and API key. A number an
 * earlier start listed in credentials.json is taken as it is (it may have been moved to
 * another install since: not registered again behind the user's back); a row without that
 * is a first start that stopped half-way, continued here.
 */
export async function provisionNumber(input: Pick<ProvisionInput, 'store' | 'network' | 'bridge' | 'existing' | 'controlUrl'>, demo: DemoNumber, wabaId: string | null): Promise<Provisioned> {
  const { store, network, bridge } = input
  const waId = demo.cc + demo.number
  const row = await store.numbers.getByWaId(waId)
  const listed = input.existing?.numbers.find((n) => n.wa_id === waId && n.phone_number_id === row?.id)
  const id = row?.id ?? String(randomInt(100_000, 999_999)) + String(randomInt(100_000_000, 999_999_999))
  if (!row) await store.numbers.create({ id, cc: demo.cc, number: demo.number, displayName: demo.displayName, wabaId, platformType: demo.platformType })
  if (wabaId !== null) await attachNumber(store, id, wabaId, demo.platformType)
  if (!listed) {
    if (row?.status !== 'registered') {
      const cert = await network.vnameCertificate(demo.cc, demo.number, demo.displayName)
      await bridge.requestCode(id, { cc: demo.cc, phoneNumber: demo.number, method: 'sms', cert }).catch((err: unknown) => {
        throw demoNumberHeld(err, demo, input.controlUrl)
      })
      const code = await network.lastCode(demo.cc, demo.number)
      if (!code) throw new Error(`the network issued no registration code for the demo number +${waId}`)
      await bridge.verify(id, code)
    }
    await network.createTemplate(waId, WELCOME_TEMPLATE)
  }
  const apiKey = listed?.api_key ?? (await store.apiKeys.create(id, 'd360', 'demo'))
  return { wa_id: waId, phone_number_id: id, api_key: apiKey, platform_type: demo.platformType, fresh: !listed }
}

/** The phones of a first start: those an interrupted one created already, and the rest. */
async function firstStartPhones(fleet: PhoneFleet | undefined, count: number): Promise<Phone[]> {
  if (!fleet || count <= 0) return []
  const have = fleet.list().slice(0, count)
  return have.length < count ? [...have, ...(await fleet.create(count - have.length))] : have
}

/**
 * Each phone says hi to each number, one number after the other: that opens the 24-hour window
 * once the number has stored the greeting. Until then the engine answers a free-form message
 * with 470, and so does a restart that sends the queue before the network redelivered the
 * greeting: the start waits for the greetings to be stored before it accepts messages.
 */
async function greet(store: Store, phones: Phone[], numbers: Provisioned[]): Promise<void> {
  await Promise.all(phones.map(async (phone) => {
    for (const n of numbers) await phone.send({ to: n.wa_id, type: 'text', text: 'Hi!' })
  }))
  const waIds = phones.map((p) => p.waId)
  const open = async (n: Provisioned) => [...(await store.contactState.get(n.phone_number_id, waIds)).values()].filter((c) => c.lastInboundAt !== null).length === waIds.length
  for (let polls = 0; polls < GREETING_POLLS; polls++) {
    if ((await Promise.all(numbers.map(open))).every(Boolean)) return
    await sleep(GREETING_POLL_MS)
  }
  // a very slow engine still opens the windows when the greetings land: the start goes on
}

export const provision = {
  /** Reads what an earlier start left, and the control token to protect the network with. */
  async prepare(dataDir: string): Promise<{ existing: EarlierCredentials | undefined; controlToken: string }> {
    privateDir(dataDir)
    const existing = await readCredentials(dataDir)
    return { existing, controlToken: existing?.control_token ?? randomToken() }
  },

  /**
   * First start: registers two demo numbers on the network, both in one WABA with an app and
   * an access token: an On-Prem one and a Cloud-hosted one, each with an API key and a welcome
   * template; creates the phones and lets each greet both numbers (which opens the 24-hour
   * window, so free-form messages work at once). A data directory from before Cloud hosting
   * gets the WABA and the Cloud number, greeted by its phones. Later starts only refresh URLs
   * and the admin login. Every step finds what an interrupted start left and goes on from there.
   */
  async run(input: ProvisionInput): Promise<Credentials> {
    const { store, existing } = input
    const onPrem = await provisionNumber(input, ON_PREM_DEMO, null)
    const waba = await demoWaba(store, onPrem.phone_number_id)
    await attachNumber(store, onPrem.phone_number_id, waba.wabaId, ON_PREM_DEMO.platformType)
    const cloudNumber = await provisionNumber(input, CLOUD_DEMO, waba.wabaId)
    const numbers = [onPrem, cloudNumber]

    const phones = existing
      ? existing.phones.flatMap((waId) => input.fleet?.get(waId) ?? [])
      : await firstStartPhones(input.fleet, input.phones)
    await greet(store, phones, numbers.filter((n) => n.fresh))

    const credentials: Credentials = {
      api_url: input.apiUrl,
      numbers: numbers.map(({ fresh: _fresh, ...n }) => n),
      cloud: await cloudCredentials(store, waba, cloudNumber.phone_number_id, input.apiUrl, existing),
      partner: await partnerCredentials(store, input.apiUrl, existing),
      admin: await adminLogin(store),
      phones: existing?.phones ?? phones.map((p) => p.waId),
      control_url: input.controlUrl,
      control_token: existing?.control_token ?? input.controlToken,
    }
    await writeCredentials(input.dataDir, credentials)
    return credentials
  },
}
