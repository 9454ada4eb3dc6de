import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { AccessTokenScope } from '../../domain/hosting.js'
import { CloudCode, WaboxError } from '../../errors/index.js'
import type { NumberManagementState } from '../../store/number-management.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'
import { webhookConfigurationOf } from '../services/cloud-webhooks.js'
import { graphPrincipal, numberInReach, requireScope } from './auth.js'
import { unsupportedRequest } from './envelope.js'
import type { GraphObjectKind } from './objects.js'

/** Reading numbers is management, but a messaging-only token may read the numbers it sends from. */
const READ_SCOPES: readonly AccessTokenScope[] = ['whatsapp_business_management', 'whatsapp_business_messaging']

/** A field's value from the row and its management state; async readers may look further (e.g. a webhook configuration). */
type FieldReader = (number: PhoneNumberRow, ctx: WebContext, state: NumberManagementState) => unknown

/** Meta's `status`: PENDING until verified, FLAGGED while quality is low, DISCONNECTED when deregistered or offline. */
function statusOf(n: PhoneNumberRow, state: NumberManagementState): string {
  if (n.status !== 'registered') return 'PENDING'
  if (state.deregisteredAt !== null) return 'DISCONNECTED'
  if (state.qualityRating === 'RED') return 'FLAGGED'
  return n.gateway_status === 'connected' ? 'CONNECTED' : 'DISCONNECTED'
}

/** The fields of a phone number (Meta's WhatsAppBusinessPhoneNumber node) wabox can answer, in Meta's terms. */
export const PHONE_NUMBER_FIELDS: Record<string, FieldReader> = {
  id: (n) => n.id,
  display_phone_number: (n) => `+${n.cc} ${n.number}`,
  verified_name: (n) => n.display_name,
  // the network owns the rating and reports changes (phone_number_quality_update): UNKNOWN until it did
  quality_rating: (_n, _ctx, state) => state.qualityRating ?? 'UNKNOWN',
  // the limit the network last reported; absent until it reported one
  messaging_limit_tier: (_n, _ctx, state) => state.messagingLimitTier ?? undefined,
  whatsapp_business_manager_messaging_limit: (_n, _ctx, state) => state.messagingLimitTier ?? undefined,
  platform_type: (n) => n.platform_type,
  code_verification_status: (n) => (n.status === 'registered' ? 'VERIFIED' : 'NOT_VERIFIED'),
  // 80 messages per second: Meta's standard level
  throughput: () => ({ level: 'STANDARD' }),
  status: (n, _ctx, state) => statusOf(n, state),
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
  const state = await ctx.store.management.get(number.id)
  for (const f of fields.filter((f) => f !== 'id')) {
    const value = await PHONE_NUMBER_FIELDS[f]!(number, ctx, state)
    if (value !== undefined) out[f] = value
  }
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
const ListQuery = Type.Object({
  fields: Type.Optional(Type.String({ description: 'comma-separated fields of each number' })),
  limit: Type.Optional(Type.String({ description: 'numbers per page, 1 to 100 (default 25)' })),
  after: Type.Optional(Type.String({ description: 'cursor: the page after this one' })),
  before: Type.Optional(Type.String({ description: 'cursor: the page before this one' })),
})
type ListRequest = FastifyRequest<{ Params: Static<typeof WabaParams>; Querystring: Static<typeof ListQuery> }>

const PAGE = 25
const cursorOf = (n: PhoneNumberRow) => Buffer.from(n.id).toString('base64url')

/** The page of `numbers` the query names: `limit` of them after `after`, or before `before`; 100 for a bad limit or cursor. */
function pageOf(numbers: PhoneNumberRow[], query: Static<typeof ListQuery>): { page: PhoneNumberRow[]; from: number } {
  const limit = query.limit === undefined ? PAGE : Number(query.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new WaboxError(CloudCode.INVALID_PARAMETER, "Invalid value for query parameter 'limit': an integer from 1 to 100")
  const at = (cursor: string, name: string) => {
    const i = numbers.findIndex((n) => cursorOf(n) === cursor)
    if (i < 0) throw new WaboxError(CloudCode.INVALID_PARAMETER, `Invalid value for query parameter '${name}': not a cursor of this list`)
    return i
  }
  if (query.after !== undefined) {
    const from = at(query.after, 'after') + 1
    return { page: numbers.slice(from, from + limit), from }
  }
  if (query.before !== undefined) {
    const to = at(query.before, 'before')
    const from = Math.max(0, to - limit)
    return { page: numbers.slice(from, to), from }
  }
  return { page: numbers.slice(0, limit), from: 0 }
}

/** `GET /{waba_id}/phone_numbers`: the numbers of the WABA the token belongs to, a page at a time with Graph's cursors. */
export function phoneNumbersRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Params: Static<typeof WabaParams>; Querystring: Static<typeof ListQuery> }>('/:waba_id/phone_numbers', {
    schema: { tags: ['cloud'], summary: "List the WABA's phone numbers", params: WabaParams, querystring: ListQuery },
  }, async (request: ListRequest) => {
    const p = graphPrincipal(request)
    const { waba_id: wabaId } = request.params
    if (p.kind !== 'token' || p.wabaId !== wabaId) throw unsupportedRequest('GET', wabaId)
    requireScope(p, 'whatsapp_business_management')
    const fields = requestedFields(request.query.fields)
    const numbers = await ctx.store.numbers.listByWaba(wabaId)
    const { page, from } = pageOf(numbers, request.query)
    const data = await Promise.all(page.map((n) => phoneNumberObject(n, fields, ctx)))
    const first = page[0]
    const last = page.at(-1)
    const cursors = { before: first ? cursorOf(first) : '', after: last ? cursorOf(last) : '' }
    const base = `${request.protocol}://${request.host}${request.url.split('?')[0]}`
    const link = (cursor: Record<string, string>) => `${base}?${new URLSearchParams({ ...(request.query.fields ? { fields: request.query.fields } : {}), limit: String(page.length || PAGE), ...cursor })}`
    return {
      data,
      paging: {
        cursors,
        ...(from + page.length < numbers.length && last ? { next: link({ after: cursors.after }) } : {}),
        ...(from > 0 && first ? { previous: link({ before: cursors.before }) } : {}),
      },
    }
  })
}
