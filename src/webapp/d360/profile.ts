import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { WebContext } from '../context.js'
import { metaProfileChange, metaProfileView, updateProfile } from '../services/business-profile.js'
import { attachmentUrl } from './media.js'

/** `GET|POST /whatsapp_business_profile`: the number's profile in Meta's shape, over the business profile store. */
export function d360ProfileRoutes(app: FastifyInstance, ctx: WebContext): void {
  const config = { d360: 'manage its profile (/v1/settings/business/profile)' }
  app.get('/whatsapp_business_profile', {
    config,
    schema: { tags: ['360dialog'], summary: 'The business profile: {data:[{about, address, description, email, profile_picture_url, websites, vertical, messaging_product}]}' },
  }, async (request) => {
    const number = await ctx.number(request)
    const profile = await ctx.store.profiles.get(number.id)
    return { data: [metaProfileView(profile, profile.photoMediaId ? attachmentUrl(ctx, request, profile.photoMediaId) : undefined)] }
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
    await updateProfile(ctx, number, metaProfileChange(request.body))
    return { success: true }
  })
}
