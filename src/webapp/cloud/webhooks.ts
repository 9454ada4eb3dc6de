import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { isWebhookField, WEBHOOK_FIELDS } from '../../domain/webhook-target.js'
import { CloudCode, invalid, missing, notAllowed, WaboxError } from '../../errors/index.js'
import type { WabaInfo } from '../../store/wabas.js'
import type { WebContext } from '../context.js'
import { shownUrl, verifiedEndpoint } from '../services/cloud-webhooks.js'
import { graphPrincipal, numberInReach, requireCloudHosted, requireScope } from './auth.js'
import { unsupportedRequest } from './envelope.js'
import type { GraphObjectKind, GraphObjects } from './objects.js'
import { graphVersion } from './paths.js'

/**
 * Cloud webhook configuration at Meta's three levels, each URL accepted only after Meta's GET
 * handshake with the verify token of the same request:
 * - the app: `GET|POST|DELETE /{app_id}/subscriptions` (app token `<app_id>|<app_secret>`, or a
 *   management token of a WABA the app serves);
 * - a WABA: `GET|POST|DELETE /{waba_id}/subscribed_apps` with `override_callback_uri`;
 * - a phone number: `POST /{phone_number_id}` with `webhook_configuration.override_callback_uri`.
 */

type Params = Record<string, unknown>
type IdRequest = FastifyRequest<{ Params: { id: string } }>

const MANAGEMENT = 'whatsapp_business_management'
const OBJECT = 'whatsapp_business_account'
/** What `fields[].version` shows for a subscription read without a version in the path. */
const DEFAULT_VERSION = 'v23.0'

const APP_PARAMS = ['object', 'callback_url', 'verify_token', 'fields', 'include_values']
const WABA_PARAMS = ['override_callback_uri', 'verify_token']

/**
 * Graph takes parameters from the query string and the body alike (JSON or form fields; the
 * body wins); `access_token` is a credential, not a parameter. Anything outside `allowed` is 100.
 */
function paramsOf(request: FastifyRequest, allowed: readonly string[]): Params {
  const body = request.body ?? {}
  if (typeof body !== 'object' || Array.isArray(body)) throw invalid('body', 'must be a JSON object or form fields')
  const { access_token: _query, ...query } = (request.query ?? {}) as Params
  const { access_token: _body, ...fromBody } = body as Params
  const params = { ...query, ...fromBody }
  const extra = Object.keys(params).find((k) => !allowed.includes(k))
  if (extra !== undefined) throw notAllowed(extra, `this endpoint takes ${allowed.join(', ')}`)
  return params
}

function text(value: unknown, name: string, rule: string): string {
  if (value === undefined || value === null) throw missing(name, rule)
  if (typeof value !== 'string') throw invalid(name, `must be a string: ${rule}`)
  return value
}

/** Meta's comma-separated `fields` string; a JSON array (or its text) is accepted too. */
export function webhookFields(value: unknown): string[] {
  let list = value
  if (typeof value === 'string') {
    try {
      list = value.trim().startsWith('[') ? JSON.parse(value) as unknown : value.split(',')
    } catch {
      throw invalid('fields', 'is not a valid JSON array; send a comma-separated list such as "messages,account_update"')
    }
  }
  if (list === undefined || list === null) throw missing('fields', 'the webhook fields to subscribe to, e.g. "messages"')
  if (!Array.isArray(list)) throw invalid('fields', 'must be a comma-separated string or an array of field names')
  const names = list.map((f: unknown) => (typeof f === 'string' ? f.trim() : f))
  if (names.every((f) => f === '')) throw invalid('fields', 'must name at least one field, e.g. "messages"')
  names.forEach((f, i) => {
    if (!isWebhookField(f)) throw invalid(`fields[${i}]`, `${JSON.stringify(f)} is not a field of ${OBJECT}; fields are ${WEBHOOK_FIELDS.join(', ')}`)
  })
  return [...new Set(names as string[])]
}

function checkObject(value: unknown, required: boolean): void {
  if (value === undefined && !required) return
  if (value === undefined || value === null) throw missing('object', `must be "${OBJECT}"`)
  if (value !== OBJECT) throw invalid('object', `must be "${OBJECT}": the only webhook object wabox serves (got ${JSON.stringify(value).slice(0, 60)})`)
}

/** The app `appId` as the caller may manage it: its own app token, or a management token of a WABA it serves. */
async function appInReach(ctx: WebContext, request: IdRequest): Promise<string> {
  const { id } = request.params
  const p = graphPrincipal(request)
  if (p.kind === 'app' && p.appId === id) return id
  if (p.kind === 'token' && (await ctx.store.wabas.get(p.wabaId))?.appId === id) {
    requireScope(p, MANAGEMENT)
    return id
  }
  throw unsupportedRequest(request.method, id)
}

/** The WABA `id` as the caller may manage it: a management token of that WABA. */
async function wabaInReach(ctx: WebContext, request: IdRequest): Promise<WabaInfo> {
  const { id } = request.params
  const p = graphPrincipal(request)
  const waba = p.kind === 'token' && p.wabaId === id ? await ctx.store.wabas.get(id) : undefined
  if (p.kind !== 'token' || !waba) throw unsupportedRequest(request.method, id)
  requireScope(p, MANAGEMENT)
  return waba
}

/**
 * The app a WABA subscription is for: the one it has, else the deployment's only app (a WABA
 * whose app was unsubscribed gets it back). wabox tokens name a WABA, not an app, so with
 * several apps and none linked there is nothing to choose from.
 */
async function appToSubscribe(ctx: WebContext, waba: WabaInfo): Promise<string> {
  if (waba.appId) return waba.appId
  const apps = await ctx.store.apps.list()
  if (apps.length === 1 && apps[0]) return apps[0].id
  throw new WaboxError(CloudCode.INVALID_PARAMETER,
    `WABA ${waba.id} has no app and this deployment has ${apps.length} apps: there is no app to subscribe`)
}

const success = { success: true } as const

function appRoutes(app: FastifyInstance, ctx: WebContext): void {
  const { store } = ctx
  const schema = (summary: string) => ({ tags: ['cloud'], summary, params: Type.Object({ id: Type.String({ description: 'app id' }) }) })
  app.get<{ Params: { id: string } }>('/:id/subscriptions', { schema: schema("The app's webhook subscription") }, async (request) => {
    const subscription = await store.webhookSubscriptions.getApp(await appInReach(ctx, request))
    if (!subscription) return { data: [] }
    const version = graphVersion(request.originalUrl) ?? DEFAULT_VERSION
    return { data: [{ object: OBJECT, callback_url: shownUrl(subscription), active: true, fields: subscription.fields.map((name) => ({ name, version })) }] }
  })
  app.post<{ Params: { id: string } }>('/:id/subscriptions', {
    schema: schema('Subscribe the app: object, callback_url, verify_token, fields (the URL must pass the GET handshake)'),
  }, async (request) => {
    const appId = await appInReach(ctx, request)
    const params = paramsOf(request, APP_PARAMS)
    checkObject(params.object, true)
    const fields = webhookFields(params.fields)
    const url = text(params.callback_url, 'callback_url', 'the https:// URL notifications are POSTed to')
    const token = text(params.verify_token, 'verify_token', 'the token the GET handshake sends for your endpoint to check')
    const endpoint = await verifiedEndpoint(ctx, { url: 'callback_url', verifyToken: 'verify_token' }, url, token)
    await store.webhookSubscriptions.setApp(appId, { ...endpoint, fields })
    return success
  })
  app.delete<{ Params: { id: string } }>('/:id/subscriptions', {
    schema: schema('Unsubscribe the app (object=whatsapp_business_account), or only some fields'),
  }, async (request) => {
    const appId = await appInReach(ctx, request)
    const params = paramsOf(request, ['object', 'fields'])
    checkObject(params.object, false)
    const current = await store.webhookSubscriptions.getApp(appId)
    const dropped = params.fields === undefined ? undefined : webhookFields(params.fields)
    const left = dropped ? current?.fields.filter((f) => !dropped.includes(f)) ?? [] : []
    await store.webhookSubscriptions.setApp(appId, current && left.length > 0 ? { ...current, fields: left } : null)
    return success
  })
}

function wabaRoutes(app: FastifyInstance, ctx: WebContext): void {
  const { store } = ctx
  const schema = (summary: string) => ({ tags: ['cloud'], summary, params: Type.Object({ id: Type.String({ description: 'WABA id' }) }) })
  app.get<{ Params: { id: string } }>('/:id/subscribed_apps', { schema: schema("The app subscribed to the WABA and the WABA's override") }, async (request) => {
    const waba = await wabaInReach(ctx, request)
    const subscribed = waba.appId ? await store.apps.get(waba.appId) : undefined
    if (!subscribed) return { data: [] }
    const override = await store.webhookSubscriptions.getWaba(waba.id)
    const link = `${request.protocol}://${request.host}/${subscribed.id}`
    return { data: [{ whatsapp_business_api_data: { id: subscribed.id, name: subscribed.name, link }, ...(override ? { override_callback_uri: shownUrl(override) } : {}) }] }
  })
  app.post<{ Params: { id: string } }>('/:id/subscribed_apps', {
    schema: schema('Subscribe the app to the WABA; with override_callback_uri and verify_token, its notifications go there (GET handshake first)'),
  }, async (request) => {
    const waba = await wabaInReach(ctx, request)
    const params = paramsOf(request, WABA_PARAMS)
    const uri = params.override_callback_uri
    let override = null
    if (uri !== undefined && uri !== null && uri !== '') {
      const url = text(uri, 'override_callback_uri', 'the https:// URL the WABA\'s notifications go to instead of the app\'s')
      const token = text(params.verify_token, 'verify_token', 'the token the GET handshake sends to override_callback_uri')
      override = await verifiedEndpoint(ctx, { url: 'override_callback_uri', verifyToken: 'verify_token' }, url, token)
    }
    await store.wabas.setApp(waba.id, await appToSubscribe(ctx, waba))
    // subscribing without an override goes back to the app's callback, as with Meta
    await store.webhookSubscriptions.setWaba(waba.id, override)
    return success
  })
  app.delete<{ Params: { id: string } }>('/:id/subscribed_apps', { schema: schema('Unsubscribe the app from the WABA (and drop its override)') }, async (request) => {
    const waba = await wabaInReach(ctx, request)
    paramsOf(request, [])
    await store.webhookSubscriptions.setWaba(waba.id, null)
    await store.wabas.setApp(waba.id, null)
    return success
  })
}

/** `POST /{phone_number_id}` `{webhook_configuration:{override_callback_uri, verify_token}}`; an empty URI removes the override. */
export function phoneWebhookKind(ctx: WebContext): GraphObjectKind {
  return {
    name: 'phone number webhook configuration',
    handlers: {
      POST: async (request, id) => {
        if (!(await ctx.numberById(id))) return undefined
        requireCloudHosted(await numberInReach(ctx, request, id, [MANAGEMENT]), 'set its webhook')
        const params = paramsOf(request, ['webhook_configuration'])
        const config = params.webhook_configuration
        if (config === undefined || config === null) throw missing('webhook_configuration', 'an object {override_callback_uri, verify_token}')
        if (typeof config !== 'object' || Array.isArray(config)) throw invalid('webhook_configuration', 'must be an object {override_callback_uri, verify_token}')
        const { override_callback_uri: uri, verify_token: token, ...rest } = config as Params
        const extra = Object.keys(rest)[0]
        if (extra !== undefined) throw notAllowed(`webhook_configuration.${extra}`, 'it takes override_callback_uri and verify_token')
        if (uri === '' || uri === null) {
          await ctx.store.webhookSubscriptions.setPhone(id, null)
          return success
        }
        const names = { url: 'webhook_configuration.override_callback_uri', verifyToken: 'webhook_configuration.verify_token' }
        const url = text(uri, names.url, 'the https:// URL the number\'s messages notifications go to; "" removes the override')
        const verifyToken = text(token, names.verifyToken, 'the token the GET handshake sends to override_callback_uri')
        await ctx.store.webhookSubscriptions.setPhone(id, await verifiedEndpoint(ctx, names, url, verifyToken))
        return success
      },
    },
  }
}

/** Form-encoded bodies, as Meta takes them on these paths (only for this module's routes). */
function formBodies(app: FastifyInstance): void {
  if (app.hasContentTypeParser('application/x-www-form-urlencoded')) return
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })
}

/** Registers the subscription routes, and the phone number override on `objects`. */
export async function cloudWebhookRoutes(app: FastifyInstance, ctx: WebContext, objects: GraphObjects): Promise<void> {
  objects.add(phoneWebhookKind(ctx))
  await app.register(async (scope) => {
    formBodies(scope)
    appRoutes(scope, ctx)
    wabaRoutes(scope, ctx)
  })
}
