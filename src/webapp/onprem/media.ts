import type { Readable } from 'node:stream'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { OnPremCode, WaboxError } from '../../errors/index.js'
import { formatBytes, UPLOADED_MEDIA_TTL_MS } from '../../media/limits.js'
import type { MediaInfo, PutOptions } from '../../media/volume.js'
import type { WebContext } from '../context.js'
import { missing, notFound } from '../errors.js'

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

/** Streams a raw upload onto the media volume, after the cheap checks on its headers. */
export async function storeUpload(
  ctx: WebContext, request: FastifyRequest, opts: Omit<PutOptions, 'mimeType'>,
): Promise<MediaInfo> {
  const contentType = request.headers['content-type']
  if (!contentType) throw missing('Content-Type', 'send the media type of the body, e.g. image/jpeg')
  const max = Math.min(opts.maxBytes ?? Infinity, ctx.limits.mediaBodyBytes)
  const declared = Number(request.headers['content-length'] ?? NaN)
  if (declared > max) {
    throw new WaboxError(OnPremCode.PARAMETER_INVALID, `The body is ${declared} bytes; uploads may be at most ${formatBytes(max)}`, { httpStatus: 413 })
  }
  const body = request.body as Readable | undefined
  if (!body || declared === 0) throw missing('body', 'the request body (the media file) is empty')
  return ctx.deps.media.put(body, { ...opts, mimeType: contentType, maxBytes: max, filename: opts.filename ?? filenameOf(request) })
}

export function mediaRoutes(app: FastifyInstance, ctx: WebContext): void {
  acceptRawBodies(app)
  const { store } = ctx

  app.post('/v1/media', {
    config: { access: 'number', keepCaches: true },
    schema: {
      tags: ['media'],
      summary: 'Upload media: the raw bytes as body, the media type as Content-Type',
      description: 'Limits: image (jpeg, png) 5 MB, audio 16 MB, video 16 MB, sticker (webp) 100 KB, document 100 MB. The content must match the declared type.',
    },
  }, async (request, reply) => {
    const number = await ctx.number(request)
    const expiresAt = ctx.deps.clock.now() + UPLOADED_MEDIA_TTL_MS
    const media = await storeUpload(ctx, request, { phoneNumberId: number.id, direction: 'out', expiresAt })
    return reply.code(201).send(ctx.ok({ media: [{ id: media.id }] }))
  })

  app.get<{ Params: Static<typeof IdParams> }>('/v1/media/:id', {
    config: { access: 'number' },
    schema: { tags: ['media'], summary: 'Download media (404 without a body if unknown)', params: IdParams },
  }, async (request, reply) => {
    const number = await ctx.number(request)
    const row = await store.media.getOwned(number.id, request.params.id)
    const opened = row && await ctx.deps.media.open(row.id)
    // On-Prem answers an unknown media id with a bare 404
    if (!opened) return reply.code(404).send()
    void reply.type(opened.media.mimeType).header('content-length', opened.media.size)
    return reply.send(opened.stream)
  })

  app.delete<{ Params: Static<typeof IdParams> }>('/v1/media/:id', {
    config: { access: 'number' },
    schema: { tags: ['media'], summary: 'Delete media', params: IdParams },
  }, async (request) => {
    const number = await ctx.number(request)
    const row = await store.media.getOwned(number.id, request.params.id)
    if (!row || !(await ctx.deps.media.delete(row.id))) throw notFound(`No media with id '${request.params.id}' for this number`)
    return ctx.ok()
  })
}
