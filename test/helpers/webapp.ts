import path from 'node:path'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { Registry } from 'prom-client'
import type { ContactCheckResult, CoreBridge, RegistrationRequest, TemplateOperation, TemplateOperationResult } from '../../src/domain/bridge.js'
import { checkTemplateDefinition, checkTemplateEdit } from '../../src/domain/template-definition.js'
import type { TemplateDefinition, TemplatePack } from '../../src/domain/templates.js'
import { OnPremCode, WaboxError } from '../../src/errors/index.js'
import { MediaVolume } from '../../src/media/volume.js'
import type { ApiKeyScope } from '../../src/store/api-keys.js'
import type { PhoneNumberRow } from '../../src/store/schema.js'
import type { Store } from '../../src/store/store.js'
import { buildWebApp as buildApp } from '../../src/webapp/app.js'
import type { WebAppDeps } from '../../src/webapp/context.js'
import type { Dialect } from '../../src/webapp/dialects.js'
import { startWebServer as startServer, type WebServer, type WebServerOptions } from '../../src/webapp/server.js'
import { CallbackVerifier } from '../../src/webhooks/handshake.js'
import { WebhookService } from '../../src/webhooks/service.js'
import type { TestDatabase } from './databases.js'

export type { WebServer } from '../../src/webapp/server.js'

export const VERSION = 'v2.45.1-test'
export const ADMIN_PASSWORD = 'Str0ng!Pass'

/** A CoreBridge that records calls and fakes the CoreApp's answers in the store. */
export class FakeBridge implements CoreBridge {
  readonly calls: { method: string; args: unknown[] }[] = []
  /** The code `verify` accepts. */
  code = '123456'

  constructor(private readonly store: Store) {}

  async requestCode(phoneNumberId: string, req: RegistrationRequest) {
    this.calls.push({ method: 'requestCode', args: [phoneNumberId, req] })
    const n = await this.store.numbers.get(phoneNumberId)
    if (n?.status === 'registered') return { status: 'already_registered' as const, vname: n.display_name }
    await this.store.numbers.update(phoneNumberId, { status: 'pending', cert: req.cert })
    return { status: 'code_sent' as const, vname: 'Wabox Test Shop' }
  }

  async verify(phoneNumberId: string, code: string) {
    this.calls.push({ method: 'verify', args: [phoneNumberId, code] })
    if (code !== this.code) throw new WaboxError(OnPremCode.PARAMETER_INVALID, 'Invalid value for \'code\': wrong registration code')
    await this.store.numbers.update(phoneNumberId, { status: 'registered', gateway_status: 'connected' })
  }

  async setPin(phoneNumberId: string, pin: string | null) {
    this.calls.push({ method: 'setPin', args: [phoneNumberId, pin] })
  }

  async setShards(phoneNumberId: string, shards: number, pin?: string) {
    this.calls.push({ method: 'setShards', args: [phoneNumberId, shards, pin] })
    await this.store.numbers.update(phoneNumberId, { shard_count: shards })
  }

  async markRead(phoneNumberId: string, messageId: string, opts?: { typing?: boolean }) {
    this.calls.push({ method: 'markRead', args: opts ? [phoneNumberId, messageId, opts] : [phoneNumberId, messageId] })
  }

  /** Answers from the contacts in the store, as the CoreApp does before it asks the network. */
  async resolveUserId(phoneNumberId: string, userId: string): Promise<string | undefined> {
    this.calls.push({ method: 'resolveUserId', args: [phoneNumberId, userId] })
    return this.store.contactState.byUserId(phoneNumberId, userId)
  }

  /** What `templates` answers: the network's pack of every number. */
  pack: TemplatePack = { namespace: 'test_namespace', templates: [] }

  async templates(phoneNumberId: string): Promise<TemplatePack> {
    this.calls.push({ method: 'templates', args: [phoneNumberId] })
    return this.pack
  }

  /** Keeps templates in `pack` as the network would, PENDING until a test sets another status. */
  async manageTemplates(phoneNumberId: string, op: TemplateOperation): Promise<TemplateOperationResult> {
    this.calls.push({ method: 'manageTemplates', args: [phoneNumberId, op] })
    const templates = [...this.pack.templates]
    if (op.op === 'delete') {
      const gone = templates.filter((t) => t.name === op.name && (op.templateId === undefined || t.id === op.templateId))
      if (gone.length === 0) return { ok: false, reason: 'not_found', message: `no template named ${op.name}` }
      this.pack = { ...this.pack, templates: templates.filter((t) => !gone.includes(t)) }
      return { ok: true, deleted: gone.map((t) => t.id!) }
    }
    if (op.op === 'create') {
      const checked = checkTemplateDefinition(op.template)
      if (!checked.ok) return { ok: false, reason: 'invalid', message: checked.message }
      const { name, language, category, components, parameterFormat } = checked.value
      if (templates.some((t) => t.name === name && t.language === language)) return { ok: false, reason: 'exists', message: `${name} (${language}) exists` }
      const template: TemplateDefinition = { id: String(100_000_000_000_000 + templates.length + 1), name, language, category, status: 'PENDING', components, quality: 'UNKNOWN', parameterFormat }
      this.pack = { ...this.pack, templates: [...templates, template] }
      return { ok: true, template }
    }
    const current = templates.find((t) => t.id === op.templateId)
    if (!current) return { ok: false, reason: 'not_found', message: `no template ${op.templateId}` }
    const checked = checkTemplateEdit(op.changes, { category: current.category, parameterFormat: current.parameterFormat ?? 'POSITIONAL' })
    if (!checked.ok) return { ok: false, reason: 'invalid', message: checked.message }
    const edited: TemplateDefinition = { ...current, category: checked.value.category, components: checked.value.components ?? current.components, status: 'PENDING' }
    this.pack = { ...this.pack, templates: templates.map((t) => (t === current ? edited : t)) }
    return { ok: true, template: edited }
  }

  async checkContacts(phoneNumberId: string, inputs: string[], opts: { blocking: boolean; forceCheck: boolean }): Promise<ContactCheckResult[]> {
    this.calls.push({ method: 'checkContacts', args: [phoneNumberId, inputs, opts] })
    return inputs.map((input) => {
      const digits = input.replace(/\D/g, '')
      if (!opts.blocking) return { input, status: 'processing' as const }
      return digits.startsWith('1') ? { input, status: 'valid' as const, wa_id: digits } : { input, status: 'invalid' as const }
    })
  }

  last(method: string): unknown[] | undefined {
    return [...this.calls].reverse().find((c) => c.method === method)?.args
  }
}

export interface WebTest {
  app: FastifyInstance
  db: TestDatabase
  store: Store
  bridge: FakeBridge
  media: MediaVolume
  registry: Registry
  /** Registered numbers A (the default number: created first) and B. */
  a: PhoneNumberRow
  b: PhoneNumberRow
  /** Bearer token of `admin` (password already changed). */
  admin: string
  /** D360-API-KEY of each number. */
  keyA: string
  keyB: string
  close(): Promise<void>
}

export async function addNumber(store: Store, id: string, cc: string, number: string, registered = true): Promise<PhoneNumberRow> {
  await store.numbers.create({ id, cc, number, displayName: `Shop ${id}` })
  if (registered) await store.numbers.update(id, { status: 'registered', gateway_status: 'connected' })
  const row = await store.numbers.get(id)
  if (!row) throw new Error('number not created')
  return row
}

export function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64')
}

type Injected = 'webhooks' | 'callbackVerifier'

/** The webhook service and callback verifier the composition root would pass, over the deps' store (no dispatcher to wake). */
function withWebhooks<T extends { store: Store } & Partial<Pick<WebAppDeps, Injected>>>(deps: T): T & Pick<WebAppDeps, Injected> {
  return { ...deps, webhooks: deps.webhooks ?? new WebhookService({ store: deps.store }), callbackVerifier: deps.callbackVerifier ?? new CallbackVerifier() }
}

/** `buildWebApp` with the webhook service of src/webhooks unless the test passes one. */
export function buildWebApp(deps: Omit<WebAppDeps, Injected> & Partial<Pick<WebAppDeps, Injected>>, dialects?: readonly Dialect[]): Promise<FastifyInstance> {
  return buildApp(withWebhooks(deps), dialects)
}

/** `startWebServer` with the webhook service of src/webhooks unless the test passes one. */
export function startWebServer(options: Omit<WebServerOptions, Injected> & Partial<Pick<WebServerOptions, Injected>>): Promise<WebServer> {
  return startServer(withWebhooks(options))
}

/** Builds an app on the test database (limits high enough that only rate-limit tests hit them). */
export async function createWebTest(db: TestDatabase, overrides: Partial<WebAppDeps> = {}, dialects?: readonly Dialect[]): Promise<WebTest> {
  const { store } = db
  const suffix = Math.random().toString().slice(2, 8)
  const a = await addNumber(store, `100${suffix}`, '1', `555${suffix}1`)
  // A is created first, so it is the default number of unbound users
  db.clock.tick(1)
  const b = await addNumber(store, `200${suffix}`, '44', `777${suffix}2`)
  const bridge = new FakeBridge(store)
  const media = new MediaVolume({ root: path.join(db.dir, `media-${suffix}`), key: Buffer.alloc(32, 7), store })
  const registry = new Registry()
  const app = await buildWebApp({
    store, clock: db.clock, bridge, media, version: VERSION, registry, dataDir: path.join(db.dir, `data-${suffix}`),
    limits: { messagesBurst: 100_000, otherBurst: 100_000 },
    allowInsecureWebhooks: true,
    ...overrides,
  }, dialects)
  const admin = await loginAdmin(app)
  const keyA = await store.apiKeys.create(a.id, 'd360', 'A')
  const keyB = await store.apiKeys.create(b.id, 'd360', 'B')
  return { app, db, store, bridge, media, registry, a, b, admin, keyA, keyB, close: () => app.close() }
}

/** Logs in as admin, changing the default password on the first login. */
export async function loginAdmin(app: FastifyInstance): Promise<string> {
  let res = await app.inject({ method: 'POST', url: '/v1/users/login', headers: { authorization: basic('admin', ADMIN_PASSWORD) } })
  if (res.statusCode === 401) {
    res = await app.inject({
      method: 'POST', url: '/v1/users/login', headers: { authorization: basic('admin', 'secret') }, payload: { new_password: ADMIN_PASSWORD },
    })
  }
  if (res.statusCode !== 200) throw new Error(`admin login failed: ${res.body}`)
  return (res.json() as { users: [{ token: string }] }).users[0].token
}

export type Auth = { bearer: string } | { d360: string } | { apikey: string } | Record<string, never>

export function authHeaders(auth: Auth): Record<string, string> {
  if ('bearer' in auth) return { authorization: `Bearer ${auth.bearer}` }
  if ('d360' in auth) return { 'd360-api-key': auth.d360 }
  if ('apikey' in auth) return { authorization: `Apikey ${auth.apikey}` }
  return {}
}

/** `app.inject` with credentials. */
export function call(app: FastifyInstance, auth: Auth, opts: InjectOptions): Promise<LightMyRequestResponse> {
  return app.inject({ ...opts, headers: { ...authHeaders(auth), ...opts.headers } }) as Promise<LightMyRequestResponse>
}

/** The first error of an On-Prem error body. */
export function firstError(res: LightMyRequestResponse): { code: number; title: string; details?: string } {
  const body = res.json() as { errors?: { code: number; title: string; details?: string }[]; meta?: unknown }
  if (!body.errors?.[0]) throw new Error(`expected an error body, got ${res.statusCode} ${res.body}`)
  return body.errors[0]
}

export async function apiKey(store: Store, phoneNumberId: string, scope: ApiKeyScope): Promise<string> {
  return store.apiKeys.create(phoneNumberId, scope, scope)
}
