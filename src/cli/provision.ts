import { randomInt } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { CoreBridge } from '../domain/bridge.js'
import { OnPremCode, WaboxError } from '../errors/index.js'
import { randomToken } from '../ids.js'
import { request } from 'undici'
import type { NetworkServer } from '../network/index.js'
import type { PhoneFleet } from '../phones/index.js'
import { privateDir } from '../private-files.js'
import type { Store } from '../store/store.js'
import { DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD } from '../store/users.js'

/** `<data-dir>/credentials.json`: what a user (or `wabox phone`) needs to talk to this instance. */
export interface Credentials {
  api_url: string
  numbers: { wa_id: string; phone_number_id: string; api_key: string }[]
  /** The default login while it is unchanged; once changed, the password is never written here. */
  admin: { username: string; password: string | null; password_changed: boolean }
  phones: string[]
  control_url: string
  control_token: string
}

const DEMO = { cc: '1', number: '5550100', displayName: 'wabox demo' }
const WELCOME_TEMPLATE = {
  name: 'hello_world',
  language: 'en_US',
  category: 'UTILITY',
  components: [{ type: 'BODY', text: 'Hello {{1}}, welcome to wabox!' }],
}

function credentialsFile(dataDir: string): string {
  return path.join(dataDir, 'credentials.json')
}

async function readCredentials(dataDir: string): Promise<Credentials | undefined> {
  try {
    return JSON.parse(await fs.readFile(credentialsFile(dataDir), 'utf8')) as Credentials
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

async function writeCredentials(dataDir: string, credentials: Credentials): Promise<void> {
  const file = credentialsFile(dataDir)
  const tmp = `${file}.${process.pid}.tmp`
  await fs.writeFile(tmp, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 })
  await fs.rename(tmp, file)
}

/** The network operator calls provisioning needs: in-process for the built-in network, HTTP for an external one. */
export interface NetworkControl {
  /** A vname certificate for a business number, base64. */
  vnameCertificate(cc: string, phone: string, displayName: string): Promise<string>
  lastCode(cc: string, phone: string): Promise<string | undefined>
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
      if (created.statusCode !== 201) throw new Error(`creating the welcome template failed: ${created.body}`)
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
      if (res.status !== 201) throw new Error(`creating the welcome template failed: ${res.status} ${JSON.stringify(res.json)}`)
    },
  }
}

export interface ProvisionInput {
  dataDir: string
  apiUrl: string
  controlUrl: string
  controlToken: string
  existing: Credentials | undefined
  store: Store
  network: NetworkControl
  bridge: CoreBridge
  /** Absent with an external network: its phones are not this process's. */
  fleet: PhoneFleet | undefined
  phones: number
}

/** What credentials.json says about the `admin` login: the default password only while it is in use. */
async function adminLogin(store: Store): Promise<Credentials['admin']> {
  const changed = (await store.users.get(DEFAULT_ADMIN))?.passwordChanged ?? false
  return { username: DEFAULT_ADMIN, password: changed ? null : DEFAULT_ADMIN_PASSWORD, password_changed: changed }
}

/** The network refused the demo number because another install holds it: say which and what to do instead. */
function demoNumberHeld(err: unknown, networkUrl: string): unknown {
  if (!(err instanceof WaboxError) || err.code !== OnPremCode.RESOURCE_ALREADY_EXISTS) return err
  return new Error(`the demo number +${DEMO.cc}${DEMO.number} is already registered on the network at ${networkUrl} by another wabox install: ` +
    'start that install (its --data-dir) instead of a new one, or leave out --network-url so that this one runs a network of its own', { cause: err })
}

export const provision = {
  /** Reads what an earlier start left, and the control token to protect the network with. */
  async prepare(dataDir: string): Promise<{ existing: Credentials | undefined; controlToken: string }> {
    privateDir(dataDir)
    const existing = await readCredentials(dataDir)
    return { existing, controlToken: existing?.control_token ?? randomToken() }
  },

  /**
   * First start: registers the demo number on the built-in network, creates its API key,
   * a welcome template and the phones, and lets each phone greet the business (which opens
   * the 24-hour window, so free-form messages work at once). Later starts only refresh URLs.
   */
  async run(input: ProvisionInput): Promise<Credentials> {
    if (input.existing) {
      const refreshed = { ...input.existing, api_url: input.apiUrl, control_url: input.controlUrl, admin: await adminLogin(input.store) }
      await writeCredentials(input.dataDir, refreshed)
      return refreshed
    }
    const { store, network, bridge, fleet } = input
    // a first start that failed half-way left the number (registered, perhaps): continue with it
    const earlier = await store.numbers.getByWaId(DEMO.cc + DEMO.number)
    const id = earlier?.id ?? String(randomInt(100_000, 999_999)) + String(randomInt(100_000_000, 999_999_999))
    if (!earlier) await store.numbers.create({ id, ...DEMO })
    if (earlier?.status !== 'registered') {
      const cert = await network.vnameCertificate(DEMO.cc, DEMO.number, DEMO.displayName)
      await bridge.requestCode(id, { cc: DEMO.cc, phoneNumber: DEMO.number, method: 'sms', cert }).catch((err: unknown) => {
        throw demoNumberHeld(err, input.controlUrl)
      })
      const code = await network.lastCode(DEMO.cc, DEMO.number)
      if (!code) throw new Error('the network issued no registration code for the demo number')
      await bridge.verify(id, code)
    }
    const apiKey = await store.apiKeys.create(id, 'd360', 'demo')
    const waId = DEMO.cc + DEMO.number

    await network.createTemplate(waId, WELCOME_TEMPLATE)

    const phones = fleet && input.phones > 0 ? await fleet.create(input.phones) : []
    await Promise.all(phones.map((p) => p.send({ to: waId, type: 'text', text: 'Hi!' })))

    const credentials: Credentials = {
      api_url: input.apiUrl,
      numbers: [{ wa_id: waId, phone_number_id: id, api_key: apiKey }],
      admin: await adminLogin(store),
      phones: phones.map((p) => p.waId),
      control_url: input.controlUrl,
      control_token: input.controlToken,
    }
    await writeCredentials(input.dataDir, credentials)
    return credentials
  },
}
