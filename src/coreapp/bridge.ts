import type { ContactCheckResult, CoreBridge, RegistrationRequest, TemplateOperation, TemplateOperationResult } from '../domain/bridge.js'
import { CONTACT_CHECK_TTL_MS, normalizeContactInput } from '../domain/contact-input.js'
import { CloudCode, OnPremCode, WaboxError, type KnownCode } from '../errors/index.js'
import { NetworkClient, RequestCancelledError, WireRequestError } from '../wire/client.js'
import {
  SHARD_COUNTS, type BsuidResolveResult, type RegisterRequestResult, type RegisterVerifyResult, type TemplatesDeleteResult, type TemplateWire, type WireErrorCode,
} from '../wire/frames.js'
import { shardOf } from '../domain/shard.js'
import type { TemplatePack } from '../domain/templates.js'
import { hashPassword, verifyPassword } from '../store/users.js'
import type { EngineContext } from './context.js'
import { prepareKeys } from './keys.js'
import { heldElsewhere, ownIdentityKey } from './number-ownership.js'
import type { NumberEngine } from './number-engine.js'
import { SignalCache } from './signal-store.js'
import { vnameOf } from './vname.js'

export interface BridgeHost {
  ctx: EngineContext
  engine(phoneNumberId: string): NumberEngine | undefined
  stopEngine(phoneNumberId: string): Promise<void>
  reconcile(): Promise<void>
}

/** How long a WebApp request waits on the network's answer (blocking contact checks, user ids). */
const NETWORK_ANSWER_TIMEOUT_MS = 20_000

/** The CoreApp's answers to the WebApp's synchronous requests: registration, PIN, shards, read marks, contact checks, user ids. */
export class CoreAppBridge implements CoreBridge {
  readonly #host: BridgeHost
  // the PIN and the migrate flag given with the code request, needed again at verification
  readonly #pending = new Map<string, Pick<RegistrationRequest, 'pin' | 'migrate'>>()

  constructor(host: BridgeHost) {
    this.#host = host
  }

  get #ctx(): EngineContext {
    return this.#host.ctx
  }

  async requestCode(phoneNumberId: string, req: RegistrationRequest): Promise<{ status: 'code_sent' | 'already_registered'; vname: string }> {
    const { store, clock } = this.#ctx
    const row = await this.#number(phoneNumberId)
    const cert = Buffer.from(req.cert, 'base64')
    const vname = vnameOf(cert)
    if (!vname) throw new WaboxError(OnPremCode.ACCESS_DENIED, 'VName certificate error: the certificate could not be decoded')
    if (row.status === 'registered' && row.cc === req.cc && row.number === req.phoneNumber) return { status: 'already_registered', vname: vname.name }
    const waId = req.cc + req.phoneNumber
    const identityKey = await ownIdentityKey(store, clock, phoneNumberId, waId)
    const result = await this.#unauthenticated((c) => c.request<RegisterRequestResult>({
      t: 'register.request', cc: req.cc, phone: req.phoneNumber, method: req.method, cert, identityKey, ...(req.migrate ? { migrate: true } : {}),
    })).catch((err: unknown) => {
      throw heldElsewhere(err, waId)
    })
    await store.numbers.update(phoneNumberId, {
      cc: req.cc, number: req.phoneNumber, ...(waId !== row.wa_id ? { wa_id: waId } : {}),
      display_name: result.vname ?? vname.name, cert: req.cert, ...(row.status === 'registered' ? {} : { status: 'pending' }),
    })
    this.#pending.set(phoneNumberId, { pin: req.pin, migrate: req.migrate })
    return { status: result.status, vname: result.vname ?? vname.name }
  }

  async verify(phoneNumberId: string, code: string): Promise<void> {
    const { store, clock, tuning } = this.#ctx
    const row = await this.#number(phoneNumberId)
    const { pin, migrate } = this.#pending.get(phoneNumberId) ?? {}
    const identityKey = await ownIdentityKey(store, clock, phoneNumberId, row.wa_id)
    const result = await this.#unauthenticated((c) => c.request<RegisterVerifyResult>({
      t: 'register.verify', cc: row.cc, phone: row.number, code, identityKey, ...(pin ? { pin } : {}), ...(migrate ? { migrate: true } : {}),
    })).catch((err: unknown) => {
      throw heldElsewhere(err, row.wa_id)
    })
    // a new registration invalidates every connection of the old one
    await this.#host.stopEngine(phoneNumberId)
    // the password is kept at once; the number counts as registered (and gets connected) only
    // once its keys are uploaded, so no shard connection races the upload below
    await store.numbers.update(phoneNumberId, {
      network_secret: store.ctx.sealer.seal(result.password), status: 'pending',
      ...(result.waId !== row.wa_id ? { wa_id: result.waId } : {}),
    })
    this.#pending.delete(phoneNumberId)
    // identity (first time) and pre-keys are durable before the network hands any of them out
    const cache = new SignalCache(store, phoneNumberId)
    const { payload, changes } = await prepareKeys(store, clock, cache, result.waId, tuning.preKeys)
    await store.transaction((tx) => tx.signal.apply(phoneNumberId, changes))
    const client = new NetworkClient({ url: this.#ctx.networkUrl, clock, reconnect: false, logger: this.#ctx.logger })
    try {
      await client.connect()
      await client.login(result.waId, result.password, { shard: 0, shards: row.shard_count })
      await client.request({ t: 'keys.upload', ...payload })
    } catch (err) {
      throw wireError(err, 'uploading the pre-keys failed')
    } finally {
      await client.close()
    }
    await store.numbers.update(phoneNumberId, { status: 'registered', gateway_status: 'connecting' })
    await this.#host.reconcile()
  }

  async setPin(phoneNumberId: string, pin: string | null): Promise<void> {
    const client = this.#host.engine(phoneNumberId)?.anyClient()
    if (!client) throw new WaboxError(OnPremCode.SERVICE_NOT_READY, 'the number is not connected to the network')
    if (pin !== null && !/^\d{6}$/.test(pin)) throw new WaboxError(OnPremCode.PARAMETER_INVALID, 'pin must be 6 digits')
    try {
      await client.request({ t: 'account.pin', pin }, { signal: AbortSignal.timeout(NETWORK_ANSWER_TIMEOUT_MS) })
    } catch (err) {
      throw wireError(err, 'setting the PIN failed')
    }
    // kept here too: shard changes ask for the PIN
    await this.#ctx.store.numbers.update(phoneNumberId, { pin_hash: pin === null ? null : await hashPassword(pin) })
  }

  async setShards(phoneNumberId: string, shards: number, pin?: string): Promise<void> {
    if (!(SHARD_COUNTS as readonly number[]).includes(shards)) throw new WaboxError(OnPremCode.PARAMETER_INVALID, 'shards must be one of 1, 2, 4, 8, 16, 32')
    const row = await this.#number(phoneNumberId)
    if (row.pin_hash) {
      if (!pin) throw new WaboxError(OnPremCode.PARAMETER_MISSING, 'two-step verification is on: pin is required')
      if (!(await verifyPassword(pin, row.pin_hash))) throw new WaboxError(CloudCode.PIN_MISMATCH, 'the two-step verification PIN is wrong')
    }
    if (row.shard_count === shards) return
    // every connection changes; stop sending while queued messages move to their new shard
    await this.#host.stopEngine(phoneNumberId)
    await this.#ctx.store.transaction(async (tx) => {
      await tx.numbers.update(phoneNumberId, { shard_count: shards })
      await tx.outbox.reshard(phoneNumberId, (peer) => shardOf(peer, shards))
      await tx.receipts.reshard(phoneNumberId, (peer) => shardOf(peer, shards))
      await tx.shardLeases.dropBeyond(phoneNumberId, shards)
    })
    await this.#host.reconcile()
  }

  async markRead(phoneNumberId: string, messageId: string, opts: { typing?: boolean } = {}): Promise<void> {
    const { store } = this.#ctx
    const row = await this.#number(phoneNumberId)
    const envelope = await store.inbound.envelopeOf(phoneNumberId, messageId)
    if (!envelope) throw new WaboxError(OnPremCode.RESOURCE_NOT_FOUND, `message ${messageId} not found`)
    const shard = shardOf(envelope.peer, row.shard_count)
    await store.transaction(async (tx) => {
      await tx.receipts.enqueue([{ phoneNumberId, peer: envelope.peer, shard, kind: 'read', envelopeId: envelope.envelopeId }])
      await tx.inbound.markRead(messageId)
    })
    const engine = this.#host.engine(phoneNumberId)
    engine?.receipts.wake()
    // a typing indicator is worth something only now: sent if the shard is connected, never queued
    const conn = opts.typing ? engine?.connection(shard) : undefined
    conn?.client.request({ t: 'typing.send', to: envelope.peer }).catch((err: unknown) => {
      this.#ctx.logger.debug({ err, peer: envelope.peer }, 'typing indicator not shown')
    })
  }

  async checkContacts(phoneNumberId: string, inputs: string[], opts: { blocking: boolean; forceCheck: boolean }): Promise<ContactCheckResult[]> {
    await this.#number(phoneNumberId)
    const engine = this.#host.engine(phoneNumberId)
    if (opts.blocking) {
      if (!engine?.anyClient()) throw new WaboxError(OnPremCode.SERVICE_NOT_READY, 'the number is not connected to the network')
      try {
        return await withTimeout(engine.checkContacts(inputs, opts.forceCheck), NETWORK_ANSWER_TIMEOUT_MS)
      } catch (err) {
        throw wireError(err, 'the contact check failed')
      }
    }
    // no_wait: cached answers now, the rest `processing` and a durable job that ends in a `contacts` callback
    const { store, clock } = this.#ctx
    const normalized = inputs.map((i) => normalizeContactInput(i))
    const cached = opts.forceCheck ? new Map<string, 'valid' | 'invalid'>()
      : await store.contactChecks.cached(phoneNumberId, normalized.filter((n): n is string => n !== null), clock.now() - CONTACT_CHECK_TTL_MS)
    const pending: string[] = []
    const results = inputs.map((input, i): ContactCheckResult => {
      const phone = normalized[i]
      if (!phone) return { input, status: 'failed' }
      const status = cached.get(phone)
      if (status === 'valid') return { input, status, wa_id: phone }
      if (status === 'invalid') return { input, status }
      pending.push(input)
      return { input, status: 'processing' }
    })
    if (pending.length > 0) {
      await store.contactChecks.enqueueJob(phoneNumberId, pending, opts.forceCheck)
      engine?.wake()
    }
    return results
  }

  async resolveUserId(phoneNumberId: string, userId: string): Promise<string | undefined> {
    await this.#number(phoneNumberId)
    const { store } = this.#ctx
    const known = await store.contactState.byUserId(phoneNumberId, userId)
    if (known) return known
    // only the network can open an id it has not named to this number yet; a send waits on the answer
    const client = this.#host.engine(phoneNumberId)?.anyClient()
    if (!client?.connected) throw new WaboxError(OnPremCode.SERVICE_NOT_READY, 'the number is not connected to the network, which resolves business-scoped user ids')
    let waId: string
    try {
      waId = (await client.request<BsuidResolveResult>({ t: 'bsuid.resolve', userId }, { signal: AbortSignal.timeout(NETWORK_ANSWER_TIMEOUT_MS) })).waId
    } catch (err) {
      if (err instanceof WireRequestError && err.code === 'not_found') return undefined
      throw wireError(err, 'resolving the business-scoped user id failed')
    }
    await store.contactState.recordUserId(phoneNumberId, waId, userId)
    return waId
  }

  async templates(phoneNumberId: string): Promise<TemplatePack> {
    await this.#number(phoneNumberId)
    const engine = this.#host.engine(phoneNumberId)
    const client = engine?.anyClient()
    if (!engine || !client?.connected) throw new WaboxError(OnPremCode.SERVICE_NOT_READY, 'the number is not connected to the network, which holds its templates')
    try {
      // fresh: a listing shows a review decided a moment ago, and sends see it too
      return await withTimeout(engine.templatePack(client, true), NETWORK_ANSWER_TIMEOUT_MS)
    } catch (err) {
      throw wireError(err, 'reading the templates failed')
    }
  }

  async manageTemplates(phoneNumberId: string, operation: TemplateOperation): Promise<TemplateOperationResult> {
    const { waba_id: wabaId } = await this.#number(phoneNumberId)
    const engine = this.#host.engine(phoneNumberId)
    const client = engine?.anyClient()
    if (!engine || !client?.connected) throw new WaboxError(OnPremCode.SERVICE_NOT_READY, 'the number is not connected to the network, which holds its templates')
    const signal = AbortSignal.timeout(NETWORK_ANSWER_TIMEOUT_MS)
    const waba = wabaId ? { waba: wabaId } : {}
    const request = operation.op === 'create'
      ? client.request<TemplateWire>({ t: 'templates.create', template: operation.template, ...waba }, { signal })
      : operation.op === 'edit'
        ? client.request<TemplateWire>({ t: 'templates.update', templateId: operation.templateId, changes: operation.changes, ...waba }, { signal })
        : client.request<TemplatesDeleteResult>({ t: 'templates.delete', name: operation.name, ...(operation.templateId ? { templateId: operation.templateId } : {}), ...waba }, { signal })
    try {
      const result = await request
      // the next send of any of the WABA's numbers must see the change
      this.#ctx.templates.clear()
      return 'deleted' in result ? { ok: true, deleted: result.deleted } : { ok: true, template: result }
    } catch (err) {
      if (err instanceof WireRequestError && TEMPLATE_REFUSALS[err.code]) return { ok: false, reason: TEMPLATE_REFUSALS[err.code]!, message: err.message }
      throw wireError(err, 'changing the templates failed')
    }
  }

  async #number(phoneNumberId: string) {
    const row = await this.#ctx.store.numbers.get(phoneNumberId)
    if (!row) throw new WaboxError(OnPremCode.RESOURCE_NOT_FOUND, `phone number ${phoneNumberId} not found`)
    return row
  }

  async #unauthenticated<T>(fn: (client: NetworkClient) => Promise<T>): Promise<T> {
    const client = new NetworkClient({ url: this.#ctx.networkUrl, clock: this.#ctx.clock, reconnect: false, logger: this.#ctx.logger })
    try {
      await client.connect()
      return await fn(client)
    } catch (err) {
      throw wireError(err, 'the network refused the request')
    } finally {
      await client.close()
    }
  }
}

/** Network refusals of a template change, for the dialect to word. */
const TEMPLATE_REFUSALS: Partial<Record<WireErrorCode, 'exists' | 'invalid' | 'not_found'>> = {
  already_exists: 'exists',
  bad_request: 'invalid',
  not_found: 'not_found',
}

/** Network errors of registration calls in the API's terms. */
const WIRE_CODES: Partial<Record<WireErrorCode, [KnownCode, string]>> = {
  bad_certificate: [OnPremCode.ACCESS_DENIED, 'VName certificate error'],
  wrong_code: [OnPremCode.PARAMETER_INVALID, 'the registration code is wrong or expired'],
  pin_required: [OnPremCode.PARAMETER_MISSING, 'two-step verification is on: pin is required'],
  wrong_pin: [133005, 'the two-step verification PIN is wrong'],
  bad_request: [OnPremCode.PARAMETER_INVALID, ''],
  not_registered: [OnPremCode.USER_NOT_VALID, ''],
  unauthorized: [OnPremCode.ACCESS_DENIED, 'the network refused the credentials'],
}

function wireError(err: unknown, fallback: string): WaboxError {
  if (err instanceof WaboxError) return err
  if (err instanceof RequestCancelledError) {
    // cancelled, it is not sent again after a reconnect; one already sent may have been applied
    const outcome = err.sent ? 'the outcome is unknown: the network may have applied it before it stopped answering' : 'it was not sent'
    return new WaboxError(OnPremCode.SERVICE_NOT_READY, `${fallback}: the network did not answer within ${NETWORK_ANSWER_TIMEOUT_MS / 1000} s; ${outcome}`, { cause: err })
  }
  if (err instanceof WireRequestError) {
    const mapped = WIRE_CODES[err.code]
    if (mapped) return new WaboxError(mapped[0], mapped[1] || err.message, { cause: err })
    return new WaboxError(OnPremCode.SERVICE_NOT_READY, `${fallback}: ${err.message}`, { cause: err })
  }
  return new WaboxError(OnPremCode.SERVICE_NOT_READY, `${fallback}: ${(err as Error).message}`, { cause: err })
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
