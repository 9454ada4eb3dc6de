import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { D360_ONLY } from '../credential-dispatch.js'
import type { WebContext } from '../context.js'
import { unsupportedRequest } from '../cloud/envelope.js'
import { acceptForms, checkSignedUrl, mediaObject, receiveUpload, signedQuery } from '../cloud/media.js'
import { deleteMedia, findMedia, openMedia } from '../services/media.js'

/** Where 360dialog serves downloads: Meta's lookaside path on its own host. */
const ATTACHMENTS_PATH = '/whatsapp_business/attachments/'

const MediaParams = Type.Object({ media_id: Type.String() })
const AttachmentQuery = Type.Object({
  mid: Type.String({ description: 'the media id' }),
  expires: Type.Optional(Type.String({ description: 'unix seconds' })),
  sig: Type.Optional(Type.String()),
}, { additionalProperties: true })

/** The media of the key's number named `id`; another number's looks exactly like none. */
async function ownMedia(ctx: WebContext, request: FastifyRequest, id: string) {
  const number = await ctx.number(request)
  const media = await findMedia(ctx, id)
  if (!media || media.phone_number_id !== number.id) throw unsupportedRequest(request.method, id)
  return { number, media }
}

/** A download URL on this listener, valid for 5 minutes with the same D360-API-KEY. */
export function attachmentUrl(ctx: WebContext, request: FastifyRequest, mediaId: string): string {
  return `${request.protocol}://${request.host}${ATTACHMENTS_PATH}?mid=${encodeURIComponent(mediaId)}&${signedQuery(ctx, mediaId)}`
}

/**
 * `POST /media` (multipart, as Meta's), `GET|DELETE /{media_id}` (only with a D360-API-KEY:
 * the same path with a Bearer token is the Cloud dialect's `/{id}`) and the download URL.
 */
export async function d360MediaRoutes(app: FastifyInstance, ctx: WebContext): Promise<void> {
  await app.register(async (scope) => {
    await acceptForms(scope, ctx)
    scope.post('/media', {
      config: { keepCaches: true, d360: 'upload its media (POST /v1/media)' },
      schema: { tags: ['360dialog'], summary: 'Upload media: multipart/form-data with a file part, type and messaging_product=whatsapp; answers {id}' },
    }, async (request, reply) => receiveUpload(ctx, await ctx.number(request), request, reply))
  })

  const config = { d360: 'use its media (/v1/media)' }
  app.get<{ Params: Static<typeof MediaParams> }>('/:media_id', {
    constraints: D360_ONLY, config,
    schema: { tags: ['360dialog'], summary: 'Media: {url, mime_type, sha256, file_size, id}; the url downloads it for 5 minutes with the same key', params: MediaParams },
  }, async (request) => {
    const { media } = await ownMedia(ctx, request, request.params.media_id)
    return mediaObject(media, attachmentUrl(ctx, request, media.id))
  })

  app.delete<{ Params: Static<typeof MediaParams> }>('/:media_id', {
    constraints: D360_ONLY, config,
    schema: { tags: ['360dialog'], summary: 'Delete media', params: MediaParams },
  }, async (request) => {
    const { number, media } = await ownMedia(ctx, request, request.params.media_id)
    await deleteMedia(ctx, number, media.id)
    return { success: true }
  })

  // with and without the slash: Graph paths drop a trailing slash before routing, and this is one to the Cloud dialect
  for (const url of [ATTACHMENTS_PATH, ATTACHMENTS_PATH.slice(0, -1)]) {
    app.get<{ Querystring: Static<typeof AttachmentQuery> }>(url, {
      config,
      schema: { tags: ['360dialog'], summary: 'Download media: the url of GET /{media_id}, with the same D360-API-KEY', querystring: AttachmentQuery },
    }, async (request, reply) => download(ctx, request, reply))
  }
}

async function download(ctx: WebContext, request: FastifyRequest<{ Querystring: Static<typeof AttachmentQuery> }>, reply: FastifyReply): Promise<FastifyReply> {
  const id = request.query.mid
  checkSignedUrl(ctx, id, request.query)
  const { number } = await ownMedia(ctx, request, id)
  const opened = await openMedia(ctx, number, id)
  if (!opened) throw unsupportedRequest(request.method, id)
  void reply.type(opened.media.mimeType).header('content-length', opened.media.size)
  return reply.send(opened.stream)
}
