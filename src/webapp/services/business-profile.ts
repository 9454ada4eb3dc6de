import { isHttpUrl } from '../../domain/message/fields.js'
import { invalid, missing, notAllowed } from '../../errors/index.js'
import type { BusinessProfile, NumberProfile } from '../../store/profile.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'

/**
 * The business profile use case: the about text and business profile On-Premises numbers edit
 * under `/v1/settings`, and Meta's `whatsapp_business_profile` shape the Cloud and 360dialog
 * dialects read and write it in.
 */

/** Meta's business verticals; a profile's vertical cannot be set back to empty. */
const VERTICALS = ['UNDEFINED', 'OTHER', 'AUTO', 'BEAUTY', 'APPAREL', 'EDU', 'ENTERTAIN', 'EVENT_PLAN', 'FINANCE', 'GROCERY',
  'GOVT', 'HOTEL', 'HEALTH', 'NONPROFIT', 'PROF_SERVICES', 'RETAIL', 'TRAVEL', 'RESTAURANT', 'NOT_A_BIZ']

/** The text fields and their longest length in characters (cloud-api.md §8). */
const TEXT_LIMITS = { about: 139, address: 256, description: 512, email: 128 } as const
const MAX_WEBSITES = 2
const MAX_WEBSITE = 256
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const FIELDS = [...Object.keys(TEXT_LIMITS), 'websites', 'vertical', 'messaging_product']

/** The fields of Meta's profile object, in its order. */
export const META_PROFILE_FIELDS = ['about', 'address', 'description', 'email', 'profile_picture_url', 'websites', 'vertical'] as const
export type MetaProfileField = (typeof META_PROFILE_FIELDS)[number]

/** A change of the profile: absent fields stay. */
export type ProfileChange = { about?: string; business: Partial<BusinessProfile> }

function text(body: Record<string, unknown>, field: keyof typeof TEXT_LIMITS): string | undefined {
  const value = body[field]
  if (value === undefined) return undefined
  const max = TEXT_LIMITS[field]
  if (typeof value !== 'string' || [...value].length > max) throw invalid(field, `must be a string of at most ${max} characters`)
  return value
}

/** The business profile rules every dialect shares: an email address, http(s) websites. */
function checkBusiness(business: Partial<BusinessProfile>): void {
  if (business.email && !EMAIL.test(business.email)) throw invalid('email', 'must be an email address')
  business.websites?.forEach((w, i) => {
    if (!isHttpUrl(w)) throw invalid(`websites[${i}]`, 'must be an http:// or https:// URL')
  })
}

/** The change a `POST …/whatsapp_business_profile` body asks for, each field checked against Meta's rules. */
export function metaProfileChange(body: unknown): ProfileChange {
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

/** The profile as Meta's `data[0]`: the fields asked for (all by default), empty ones left out, `messaging_product` last. */
export function metaProfileView(profile: NumberProfile, photoUrl: string | undefined, fields: readonly MetaProfileField[] = META_PROFILE_FIELDS): Record<string, unknown> {
  const { address, description, email, vertical, websites } = profile.business
  const values: Record<MetaProfileField, unknown> = { about: profile.about, address, description, email, profile_picture_url: photoUrl, websites, vertical }
  const out: Record<string, unknown> = {}
  for (const f of fields) if (values[f] !== undefined) out[f] = values[f]
  return { ...out, messaging_product: 'whatsapp' }
}

/** Changes the about text and business profile; absent fields stay. */
export async function updateProfile(ctx: WebContext, number: PhoneNumberRow, change: ProfileChange): Promise<void> {
  checkBusiness(change.business)
  if (change.about !== undefined) await ctx.store.profiles.setAbout(number.id, change.about)
  if (Object.keys(change.business).length > 0) await ctx.store.profiles.updateBusiness(number.id, change.business)
}
