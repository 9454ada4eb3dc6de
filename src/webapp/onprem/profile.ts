import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { WebContext } from '../context.js'
import { invalid, notFound } from '../errors.js'
import { oneOf } from '../schemas.js'
import { updateProfile } from '../services/business-profile.js'
import { acceptRawBodies, storeUpload } from './media.js'

const About = Type.Object({ text: Type.String({ minLength: 1, maxLength: 139 }) })
const PhotoQuery = Type.Object({ format: Type.Optional(oneOf(['link'] as const)) })
const Business = Type.Object({
  address: Type.Optional(Type.String({ maxLength: 256 })),
  description: Type.Optional(Type.String({ maxLength: 256 })),
  email: Type.Optional(Type.String({ maxLength: 128 })),
  vertical: Type.Optional(Type.String({ maxLength: 128 })),
  websites: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 2 })),
}, { additionalProperties: false })

/** Profile about/photo and business profile: allowed with D360 keys (they are "profile" settings). */
export function profileRoutes(app: FastifyInstance, ctx: WebContext): void {
  const { store } = ctx

  app.get('/v1/settings/profile/about', {
    config: { access: 'number' },
    schema: { tags: ['profile'], summary: 'The "about" text of the number' },
  }, async (request) => {
    const number = await ctx.number(request)
    return ctx.ok({ settings: { profile: { about: { text: (await store.profiles.get(number.id)).about } } } })
  })

  app.patch<{ Body: Static<typeof About> }>('/v1/settings/profile/about', {
    config: { access: 'number' },
    schema: { tags: ['profile'], summary: 'Change the "about" text (1–139 characters)', body: About },
  }, async (request) => {
    const number = await ctx.number(request)
    const text = request.body.text
    if ([...text].length > 139) throw invalid('text', 'must be at most 139 characters')
    await store.profiles.setAbout(number.id, text)
    return ctx.ok()
  })

  app.get('/v1/settings/business/profile', {
    config: { access: 'number' },
    schema: { tags: ['profile'], summary: 'The business profile' },
  }, async (request) => {
    const number = await ctx.number(request)
    return ctx.ok({ settings: { business: { profile: (await store.profiles.get(number.id)).business } } })
  })

  app.post<{ Body: Static<typeof Business> }>('/v1/settings/business/profile', {
    config: { access: 'number' },
    schema: { tags: ['profile'], summary: 'Change the business profile (absent fields stay)', body: Business },
  }, async (request) => {
    // the business profile use case every dialect shares
    await updateProfile(ctx, await ctx.number(request), { business: request.body })
    return ctx.ok()
  })

  // the photo routes take raw image bodies
  app.register(async (raw) => {
    acceptRawBodies(raw)

    raw.get<{ Querystring: Static<typeof PhotoQuery> }>('/v1/settings/profile/photo', {
      config: { access: 'number' },
      schema: { tags: ['profile'], summary: 'The profile photo (bytes, or a link with ?format=link)', querystring: PhotoQuery },
    }, async (request, reply) => {
      const number = await ctx.number(request)
      const photoId = (await store.profiles.get(number.id)).photoMediaId
      if (request.query.format === 'link') {
        const link = photoId ? `${request.protocol}://${request.host}/v1/media/${photoId}` : ''
        return ctx.ok({ settings: { profile: { photo: { link } } } })
      }
      const opened = photoId ? await ctx.deps.media.open(photoId) : undefined
      if (!opened) throw notFound('This number has no profile photo')
      void reply.type(opened.media.mimeType).header('content-length', opened.media.size)
      return reply.send(opened.stream)
    })

    raw.post('/v1/settings/profile/photo', {
      config: { access: 'number' },
      schema: { tags: ['profile'], summary: 'Upload a new profile photo (raw image/jpeg or image/png, at most 5 MB)' },
    }, async (request) => {
      const number = await ctx.number(request)
      const photo = await storeUpload(ctx, request, { phoneNumberId: number.id, direction: 'profile', categories: ['image'] })
      const previous = await store.profiles.setPhoto(number.id, photo.id)
      if (previous) await ctx.deps.media.delete(previous)
      return ctx.ok()
    })

    raw.delete('/v1/settings/profile/photo', {
      config: { access: 'number' },
      schema: { tags: ['profile'], summary: 'Remove the profile photo' },
    }, async (request) => {
      const number = await ctx.number(request)
      const previous = await store.profiles.setPhoto(number.id, null)
      if (previous) await ctx.deps.media.delete(previous)
      return ctx.ok()
    })
  })
}
