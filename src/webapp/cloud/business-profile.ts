import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { CloudCode, WaboxError } from '../../errors/index.js'
import type { WebContext } from '../context.js'
import { META_PROFILE_FIELDS, metaProfileChange, metaProfileView, updateProfile, type MetaProfileField } from '../services/business-profile.js'
import { numberInReach } from './auth.js'

const NumberParams = Type.Object({ phone_number_id: Type.String() })
type NumberRequest = FastifyRequest<{ Params: Static<typeof NumberParams> }>
const ReadQuery = Type.Object({ fields: Type.Optional(Type.String({ description: `comma-separated: ${META_PROFILE_FIELDS.join(', ')}` })) })
const Update = Type.Object({
  messaging_product: Type.Literal('whatsapp'),
  about: Type.Optional(Type.String({ minLength: 1, maxLength: 139 })),
  address: Type.Optional(Type.String({ maxLength: 256 })),
  description: Type.Optional(Type.String({ maxLength: 512 })),
  email: Type.Optional(Type.String({ maxLength: 128 })),
  vertical: Type.Optional(Type.String({ description: 'UNDEFINED, OTHER, AUTO, BEAUTY, … (Meta\'s list)' })),
  websites: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 2 })),
})

/** Reading the profile is open to both permissions, as Meta's; changing it needs management. */
const READ_SCOPES = ['whatsapp_business_management', 'whatsapp_business_messaging'] as const

/** `fields=a,b` → the names; 100 naming an unknown one, as Graph answers. */
function requestedFields(fields: string | undefined): readonly MetaProfileField[] {
  if (fields === undefined || fields === '') return META_PROFILE_FIELDS
  const names = [...new Set(fields.split(',').map((f) => f.trim()).filter(Boolean))]
  const unknown = names.find((f) => !(META_PROFILE_FIELDS as readonly string[]).includes(f))
  if (unknown !== undefined) {
    throw new WaboxError(CloudCode.INVALID_PARAMETER, `Tried accessing nonexisting field (${unknown}) on node type (WhatsAppBusinessProfile); fields are ${META_PROFILE_FIELDS.join(', ')}`)
  }
  return names as MetaProfileField[]
}

/** `GET|POST /{phone_number_id}/whatsapp_business_profile`: the profile On-Premises numbers edit under `/v1/settings`, in Meta's shape. */
export function businessProfileRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Params: Static<typeof NumberParams>; Querystring: Static<typeof ReadQuery> }>('/:phone_number_id/whatsapp_business_profile', {
    schema: { tags: ['cloud'], summary: 'Read the business profile: {data:[{about, address, …, messaging_product}]} (?fields= comma list)', params: NumberParams, querystring: ReadQuery },
  }, async (request) => {
    const number = await numberInReach(ctx, request, request.params.phone_number_id, READ_SCOPES)
    const fields = requestedFields(request.query.fields)
    const profile = await ctx.store.profiles.get(number.id)
    // the photo is served where On-Premises numbers have it
    const photoUrl = profile.photoMediaId ? `${request.protocol}://${request.host}/v1/media/${profile.photoMediaId}` : undefined
    return { data: [metaProfileView(profile, photoUrl, fields)] }
  })

  app.post<{ Params: Static<typeof NumberParams> }>('/:phone_number_id/whatsapp_business_profile', {
    schema: { tags: ['cloud'], summary: 'Change the business profile (absent fields stay)', params: NumberParams, body: Update },
    // the schema documents; the use case validates with precise codes
    validatorCompiler: () => () => true,
  }, async (request: NumberRequest) => {
    const number = await numberInReach(ctx, request, request.params.phone_number_id, ['whatsapp_business_management'])
    await updateProfile(ctx, number, metaProfileChange(request.body))
    return { success: true }
  })
}
