import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { AccessTokenScope } from '../../domain/hosting.js'
import { CloudCode, WaboxError } from '../../errors/index.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'
import { webhookConfigurationOf } from '../services/cloud-webhooks.js'
import { graphPrincipal, numberInReach, requireScope } from './auth.js'
import { unsupportedRequest } from './envelope.js'
import type { GraphObjectKind } from './objects.js'

/** Reading numbers is management, but a messaging-only token may read the numbers it sends from. */
const READ_SCOPES: readonly AccessTokenScope[] = ['whatsapp_business_management', 'whatsapp_business_messaging']

/** A field's value; async readers may look further than the row (e.g. a webhook configuration). */
type FieldReader = (number: PhoneNumberRow, ctx: WebContext) => unknown

/** The fields of a phone number (Meta's WhatsAppBusinessPhoneNumber node) wabox can answer, in Meta's terms. */
export const PHONE_NUMBER_FIELDS: Record<string, FieldReader> = {
  id: (n) => n.id,
  display_phone_number: (n) => `+${n.cc} ${n.number}`,
  verified_name: (n) => n.display_name,
  // the rating lives in the network, which does not report it to the business side
  quality_rating: () => 'UNKNOWN',
  platform_type: (n) => n.platform_type,
  code_verification_status: (n) => (n.status === 'registered' ? 'VERIFIED' : 'NOT_VERIFIED'),
  // 80 messages per second: Meta's standard level
  throughput: () => ({ level: 'STANDARD' }),
  status: (n) => (n.status !== 'registered' ? 'PENDING' : n.gateway_status === 'connected' ? 'CONNECTED' : 'DISCONNECTED'),
  name_status: (n) => (n.status === 'registered' ? 'APPROVED' : 'NONE'),
  account_mode: () => 'LIVE',
  is_pin_enabled: (n) => n.pin_hash !== null,
  webhook_configuration: (n, ctx) => webhookConfigurationOf(ctx, n.id),
}

/** What `GET /{phone_number_id}` answers without `fields`, as Meta does. */
const DEFAULT_FIELDS = ['verified_name', 'code_verification_status', 'display_phone_number', 'quality_rating', 'platform_type', 'throughput', 'id']

/** `fields=a,b` → the names, each one wabox knows; 100 naming an unknown one, as Graph does. */
export function requestedFields(fields: unknown): string[] {
  if (fields === undefined || fields === '') return DEFAULT_FIELDS
  if (typeof fields !== 'string') throw new WaboxError(CloudCode.INVALID_PARAMETER, "Invalid value for query parameter 'fields': a comma-separated list of field names")
  const names = [...new Set(fields.split(',').map((f) => f.trim()).filter(Boolean))]
  const unknown = names.find((f) => !(f in PHONE_NUMBER_FIELDS))
  if (unknown !== undefined) {
    throw new WaboxError(CloudCode.INVALID_PARAMETER,
      `Tried accessing nonexisting field (${unknown}) on node type (WhatsAppBusinessPhoneNumber); fields are ${Object.keys(PHONE_NUMBER_FIELDS).join(', ')}`)
  }
  return names.includes('id') ? names : [...names, 'id']
}

/** The phone number node with the requested fields, `id` always last as Meta orders it. */
export async function phoneNumberObject(number: PhoneNumberRow, fields: readonly string[], ctx: WebContext): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const f of fields.filter((f) => f !== 'id')) out[f] = await PHONE_NUMBER_FIELDS[f]!(number, ctx)
  out.id = number.id
  return out
}

/** Phone numbers as `GET /{phone_number_id}` names them (Cloud- and On-Premises-hosted alike). */
export function phoneNumberKind(ctx: WebContext): GraphObjectKind {
  return {
    name: 'phone number',
    handlers: {
      GET: async (request, id) => {
        const number = await ctx.numberById(id)
        if (!number) return undefined
        const query = request.query as { fields?: unknown }
        return phoneNumberObject(await numberInReach(ctx, request, id, READ_SCOPES), requestedFields(query.fields), ctx)
      },
    },
  }
}

const WabaParams = Type.Object({ waba_id: Type.String() })
const ListQuery = Type.Object({ fields: Type.Optional(Type.String({ description: 'comma-separated fields of each number' })) })

/** `GET /{waba_id}/phone_numbers`: every number of the WABA the token belongs to. */
export function phoneNumbersRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Params: Static<typeof WabaParams>; Querystring: Static<typeof ListQuery> }>('/:waba_id/phone_numbers', {
    schema: { tags: ['cloud'], summary: "List the WABA's phone numbers", params: WabaParams, querystring: ListQuery },
  }, async (request: FastifyRequest<{ Params: Static<typeof WabaParams>; Querystring: Static<typeof ListQuery> }>) => {
    const p = graphPrincipal(request)
    const { waba_id: wabaId } = request.params
    if (p.kind !== 'token' || p.wabaId !== wabaId) throw unsupportedRequest('GET', wabaId)
    requireScope(p, 'whatsapp_business_management')
    const fields = requestedFields(request.query.fields)
    const numbers = await ctx.store.numbers.listByWaba(wabaId)
    const data = await Promise.all(numbers.map((n) => phoneNumberObject(n, fields, ctx)))
    // every number in one page: cursors name its first and last entry, as Graph's do
    const cursor = (n: PhoneNumberRow | undefined) => Buffer.from(n?.id ?? '').toString('base64url')
    return { data, paging: { cursors: { before: cursor(numbers[0]), after: cursor(numbers.at(-1)) } } }
  })
}
