import type { Readable } from 'node:stream'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { MediaInfo, PutOptions } from '../../media/volume.js'
import type { WebContext } from '../context.js'
import { deleteMedia, openMedia, putMedia, uploadMedia, type Upload } from '../services/media.js'

const IdParams = Type.Object({ id: Type.String() })

/** In this plugin every body reaches the handler as the raw request stream (uploads are streamed). */
export function acceptRawBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
}

function filenameOf(request: FastifyRequest): string | null {
  const cd = request.headers['content-disposition']
  const m = cd && /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd)
  if (!m?.[1]) return null
  try {
    return decodeURIComponent(m[1]).slice(0, 240)
  } catch {
    return m[1].slice(0, 240)
  }
}

/** A raw upload as On-Prem sends it: the body is the file, Content-Type its media type. */
export function rawUpload(request: FastifyRequest): Upload {
  const length = request.headers['content-length']
  return {
    body: request.body as Readable | undefined,
    mimeType: request.headers['content-type'],
    ...(length === undefined ? {} : { declaredBytes: Number(length) }),
    filename: filenameOf(request),
  }
}

/** Streams a raw upload onto the media volume, after the cheap checks on its headers. */
export function storeUpload(ctx: WebContext, request: FastifyRequest, opts: Omit<PutOptions, 'mimeType'>): Promise<MediaInfo> {
  return putMedia(ctx, rawUpload(request), opts)
}

export function mediaRoutes(app: FastifyInstance, ctx: WebContext): void {
  acceptRawBodies(app)

  app.post('/v1/media', {
    config: { access: 'number', keepCaches: true },
    schema: {
      tags: ['media'],
      summary: 'Upload media: the raw bytes as body, the media type as Content-Type',
      description: 'Limits: image (jpeg, png) 5 MB, audio 16 MB, video 16 MB, sticker (webp) 100 KB, document 100 MB. The content must match the declared type.',
    },
  }, async (request, reply) => {
    const media = await uploadMedia(ctx, await ctx.number(request), rawUpload(request))
    return reply.code(201).send(ctx.ok({ media: [{ id: media.id }] }))
  })

  app.get<{ Params: Static<typeof IdParams> }>('/v1/media/:id', {
    config: { access: 'number' },
    schema: { tags: ['media'], summary: 'Download media (404 without a body if unknown)', params: IdParams },
  }, async (request, reply) => {
    const opened = await openMedia(ctx, await ctx.number(request), request.params.id)
    // On-Prem answers an unknown media id with a bare 404
    if (!opened) return reply.code(404).send()
    void reply.type(opened.media.mimeType).header('content-length', opened.media.size)
    return reply.send(opened.stream)
  })

  app.delete<{ Params: Static<typeof IdParams> }>('/v1/media/:id', {
    config: { access: 'number' },
    schema: { tags: ['media'], summary: 'Delete media', params: IdParams },
  }, async (request) => {
    await deleteMedia(ctx, await ctx.number(request), request.params.id)
    return ctx.ok()
  })
}
