import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { isObject } from '../../domain/message/fields.js'
import { CloudCode, WaboxError } from '../../errors/index.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'
import { applyRegisterRegion, checkRegisterRegion } from '../services/number-region.js'
import { deregisterNumber, registerNumber, requestCode, setTwoStepPin, verifyCode } from '../services/registration.js'
import { numberInReach, requireCloudHosted } from './auth.js'
import type { GraphObjectKind } from './objects.js'

/**
 * Registration of a phone number as Meta's Cloud API does it: `request_code` → `verify_code`
 * → `register {pin}`; `deregister`; the two-step PIN with `POST /{phone_number_id} {pin}`.
 * `register` with the On-Premises `backup` moves an On-Premises number to Cloud.
 */

type Params = Record<string, unknown>

const MANAGEMENT = ['whatsapp_business_management'] as const
const success = { success: true }

/** 100 naming the parameter, as Graph answers a bad one on these paths. */
function badParam(name: string, rule: string): WaboxError {
  return new WaboxError(CloudCode.INVALID_PARAMETER, `Invalid parameter '${name}': ${rule}`)
}

/** The query parameters and the JSON body together (the body wins), `access_token` left out; 100 for any other than `allowed`. */
function paramsOf(request: FastifyRequest, allowed: readonly string[]): Params {
  const body = request.body ?? {}
  if (!isObject(body)) throw badParam('body', 'must be a JSON object')
  const { access_token: _q, ...query } = (request.query ?? {}) as Params
  const { access_token: _b, ...fromBody } = body
  const params = { ...query, ...fromBody }
  const extra = Object.keys(params).find((k) => !allowed.includes(k))
  if (extra !== undefined) throw badParam(extra, `this endpoint takes ${allowed.join(', ')}`)
  return params
}

function product(params: Params): void {
  if (params.messaging_product !== 'whatsapp') throw badParam('messaging_product', 'must be "whatsapp"')
}

function pinOf(value: unknown): string {
  if (typeof value !== 'string' || !/^\d{6}$/.test(value)) throw badParam('pin', 'must be the 6-digit two-step verification PIN, as a string')
  return value
}

function backupOf(value: unknown): { data: string; password: string } | undefined {
  if (value === undefined || value === null) return undefined
  const rule = 'must be {data, password}: the data and password of POST /v1/settings/backup on the On-Premises number'
  if (!isObject(value)) throw badParam('backup', rule)
  const { data, password, ...rest } = value
  if (typeof data !== 'string' || data === '') throw badParam('backup.data', rule)
  if (typeof password !== 'string' || password === '' || password.length > 1024) throw badParam('backup.password', rule)
  if (Object.keys(rest).length > 0) throw badParam(`backup.${Object.keys(rest)[0]}`, rule)
  return { data, password }
}

const CODE_METHODS = { SMS: 'sms', VOICE: 'voice' } as const

const NumberParams = Type.Object({ phone_number_id: Type.String() })
type NumberRequest = FastifyRequest<{ Params: Static<typeof NumberParams> }>
const anyBody = () => () => true

/** The number of the path, the caller's to manage; Cloud-hosted unless `anyPlatform`. */
async function managed(ctx: WebContext, request: NumberRequest, what: string, anyPlatform = false): Promise<PhoneNumberRow> {
  const number = await numberInReach(ctx, request, request.params.phone_number_id, MANAGEMENT)
  if (!anyPlatform) requireCloudHosted(number, what)
  return number
}

export function registrationRoutes(app: FastifyInstance, ctx: WebContext): void {
  const route = (path: string, summary: string, body: ReturnType<typeof Type.Object>, handler: (request: NumberRequest) => Promise<object>) => {
    app.post<{ Params: Static<typeof NumberParams> }>(`/:phone_number_id/${path}`, {
      schema: { tags: ['cloud'], summary, params: NumberParams, body },
      // the schema documents; the handlers validate with Graph's codes
      validatorCompiler: anyBody,
    }, handler)
  }

  route('register', 'Register a verified number for the API with its two-step PIN; with backup, move an On-Premises number to Cloud', Type.Object({
    messaging_product: Type.Literal('whatsapp'),
    pin: Type.String({ pattern: '^\\d{6}$' }),
    backup: Type.Optional(Type.Object({ data: Type.String(), password: Type.String() })),
    data_localization_region: Type.Optional(Type.String({ description: "ISO 3166 alpha-2 code of a region the deployment configures: the number's WABA keeps its content there (set once, before it has any)" })),
  }), async (request) => {
    const params = paramsOf(request, ['messaging_product', 'pin', 'backup', 'data_localization_region'])
    product(params)
    const pin = pinOf(params.pin)
    const backup = backupOf(params.backup)
    const region = params.data_localization_region
    if (region !== undefined && (typeof region !== 'string' || !/^[A-Z]{2}$/.test(region))) throw badParam('data_localization_region', 'an ISO 3166 alpha-2 country code such as "DE"')
    const number = await managed(ctx, request, 'register', true)
    const residency = region === undefined ? undefined : await checkRegisterRegion(ctx.store, number, region)
    await registerNumber(ctx, number, backup ? { pin, backup } : { pin }, request.log)
    if (residency) await applyRegisterRegion(ctx.store, residency)
    return success
  })

  route('deregister', 'Deregister the number: the API refuses to send for it (133010) until it registers again', Type.Object({}), async (request) => {
    paramsOf(request, ['messaging_product'])
    await deregisterNumber(ctx, await managed(ctx, request, 'deregister'))
    return success
  })

  route('request_code', 'Send a verification code by SMS or voice', Type.Object({
    code_method: Type.String({ description: 'SMS or VOICE' }),
    language: Type.String({ description: 'e.g. en_US' }),
  }), async (request) => {
    const params = paramsOf(request, ['code_method', 'language', 'messaging_product'])
    const method = CODE_METHODS[String(params.code_method).toUpperCase() as keyof typeof CODE_METHODS]
    if (typeof params.code_method !== 'string' || !method) throw badParam('code_method', 'must be "SMS" or "VOICE"')
    if (typeof params.language !== 'string' || !/^[a-z]{2,3}(_[A-Za-z]{2,4})?$/.test(params.language)) throw badParam('language', 'a language code such as "en_US"')
    await requestCode(ctx, await managed(ctx, request, 'request a code'), method)
    return success
  })

  route('verify_code', 'Verify the number with the code received', Type.Object({ code: Type.String() }), async (request) => {
    const params = paramsOf(request, ['code', 'messaging_product'])
    if (typeof params.code !== 'string' || !/^\d{6}$/.test(params.code.replace('-', ''))) throw badParam('code', 'the 6-digit code received (e.g. "123456" or "123-456")')
    await verifyCode(ctx, await managed(ctx, request, 'verify a code'), params.code.replace('-', ''))
    return success
  })
}

/** `POST /{phone_number_id}` `{pin}`: two-step verification. Bodies without `pin` are another kind's (webhook_configuration). */
export function twoStepKind(ctx: WebContext): GraphObjectKind {
  return {
    name: 'phone number two-step verification',
    handlers: {
      POST: async (request, id) => {
        const body = request.body
        if (!(await ctx.numberById(id)) || !isObject(body) || body.pin === undefined) return undefined
        const number = await numberInReach(ctx, request, id, MANAGEMENT)
        requireCloudHosted(number, 'set its two-step PIN')
        const params = paramsOf(request, ['pin', 'messaging_product'])
        await setTwoStepPin(ctx, number, pinOf(params.pin))
        return success
      },
    },
  }
}
