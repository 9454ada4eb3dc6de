import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { isHttpUrl } from '../../domain/message/fields.js'
import { invalid, missing, notAllowed } from '../../errors/index.js'
import type { BusinessProfile } from '../../store/profile.js'
import type { WebContext } from '../context.js'
import { attachmentUrl } from './media.js'

/** Meta's business verticals; a profile's vertical cannot be set back to empty. */
const VERTICALS = ['UNDEFINED', 'OTHER', 'AUTO', 'BEAUTY', 'APPAREL', 'EDU', 'ENTERTAIN', 'EVENT_PLAN', 'FINANCE', 'GROCERY',
  'GOVT', 'HOTEL', 'HEALTH', 'NONPROFIT', 'PROF_SERVICES', 'RETAIL', 'TRAVEL', 'RESTAURANT', 'NOT_A_BIZ']

/** The text fields and their longest length in characters (cloud-api.md §8). */
const TEXT_LIMITS = { about: 139, address: 256, description: 512, email: 128 } as const
const MAX_WEBSITES = 2
const MAX_WEBSITE = 256
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const FIELDS = [...Object.keys(TEXT_LIMITS), 'websites', 'vertical', 'messaging_product']

type ProfileChange = { about?: string; business: Partial<BusinessProfile> }

function text(body: Record<string, unknown>, field: keyof typeof TEXT_LIMITS): string | undefined {
  const value = body[field]
  if (value === undefined) return undefined
  const max = TEXT_LIMITS[field]
  if (typeof value !== 'string' || [...value].length > max) throw invalid(field, `must be a string of at most ${max} characters`)
  return value
}

/** The change a POST asks for, each field checked against Meta's rules. */
function profileChange(body: unknown): ProfileChange {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw missing('body', 'the request body must be a JSON object')
  const b = body as Record<string, unknown>
  if (b.messaging_product !== 'whatsapp') throw invalid('messaging_product', 'must be "whatsapp"')
  if (b.profile_picture_handle !== undefined) {
    throw notAllowed('profile_picture_handle', 'wabox has no Resumable Upload API; set the photo with POST /v1/settings/profile/photo')
  }
  const unknown = Object.keys(b).find((k) => !FIELDS.includes(k))
  if (unknown !== undefined) throw notAllowed(unknown.slice(0, 40), `a business profile has the fields ${FIELDS.join(', ')}`)
  const about = text(b, 'about')
  if (about === '') throw invalid('about', 'must be 1 to 139 characters')
  const business: Partial<BusinessProfile> = {}
  for (const field of ['address', 'description', 'email'] as const) {
    const value = text(b, field)
    if (value !== undefined) business[field] = value
  }
  if (business.email && !EMAIL.test(business.email)) throw invalid('email', 'must be an email address')
  if (b.vertical !== undefined) {
    if (typeof b.vertical !== 'string' || !VERTICALS.includes(b.vertical)) throw invalid('vertical', `must be one of ${VERTICALS.join(', ')}`)
    business.vertical = b.vertical
  }
  if (b.websites !== undefined) {
    const sites = b.websites
    if (!Array.isArray(sites) || sites.length > MAX_WEBSITES) throw invalid('websites', `must be an array of at most ${MAX_WEBSITES} URLs`)
    sites.forEach((w: unknown, i) => {
      if (typeof w !== 'string' || w.length > MAX_WEBSITE || !isHttpUrl(w)) throw invalid(`websites[${i}]`, `must be an http:// or https:// URL of at most ${MAX_WEBSITE} characters`)
    })
    business.websites = sites as string[]
  }
  return { ...(about !== undefined ? { about } : {}), business }
}

/** `GET|POST /whatsapp_business_profile`: the number's profile in Meta's shape, over the business profile store. */
export function d360ProfileRoutes(app: FastifyInstance, ctx: WebContext): void {
  const config = { d360: 'manage its profile (/v1/settings/business/profile)' }
  app.get('/whatsapp_business_profile', {
    config,
    schema: { tags: ['360dialog'], summary: 'The business profile: {data:[{about, address, description, email, profile_picture_url, websites, vertical, messaging_product}]}' },
  }, async (request) => {
    const number = await ctx.number(request)
    const profile = await ctx.store.profiles.get(number.id)
    const { address, description, email, vertical, websites } = profile.business
    const photo = profile.photoMediaId ? { profile_picture_url: attachmentUrl(ctx, request, profile.photoMediaId) } : {}
    return { data: [{ about: profile.about, address, description, email, ...photo, websites, vertical, messaging_product: 'whatsapp' }] }
  })

  app.post('/whatsapp_business_profile', {
    config,
    schema: {
      tags: ['360dialog'],
      summary: 'Change the business profile (absent fields stay): messaging_product, about, address, description, email, vertical, websites',
      body: Type.Object({ messaging_product: Type.Literal('whatsapp') }, { additionalProperties: true }),
    },
    validatorCompiler: () => () => true,
  }, async (request) => {
    const number = await ctx.number(request)
    const change = profileChange(request.body)
    if (change.about !== undefined) await ctx.store.profiles.setAbout(number.id, change.about)
    if (Object.keys(change.business).length > 0) await ctx.store.profiles.updateBusiness(number.id, change.business)
    return { success: true }
  })
}
