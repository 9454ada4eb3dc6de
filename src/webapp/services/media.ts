import type { Readable } from 'node:stream'
import { missing, OnPremCode, WaboxError } from '../../errors/index.js'
import { formatBytes, UPLOADED_MEDIA_TTL_MS } from '../../media/limits.js'
import type { MediaInfo, PutOptions } from '../../media/volume.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'
import { notFound } from '../errors.js'

/** An upload as the dialect's parser found it: the bytes and what the request says about them. */
export interface Upload {
  body: Readable | undefined
  /** The declared media type (Content-Type of the body or of its multipart part). */
  mimeType: string | undefined
  /** The declared size, if the request gave one (Content-Length of a raw body). */
  declaredBytes?: number
  filename?: string | null
}

/**
 * Streams an upload onto the media volume, after the cheap checks on what it declares; the
 * volume checks the content against the declared type and the category's size limit.
 */
export async function putMedia(ctx: WebContext, upload: Upload, opts: Omit<PutOptions, 'mimeType'>): Promise<MediaInfo> {
  if (!upload.mimeType) throw missing('Content-Type', 'send the media type of the body, e.g. image/jpeg')
  const max = Math.min(opts.maxBytes ?? Infinity, ctx.limits.mediaBodyBytes)
  const declared = upload.declaredBytes ?? NaN
  if (declared > max) {
    throw new WaboxError(OnPremCode.PARAMETER_INVALID, `The body is ${declared} bytes; uploads may be at most ${formatBytes(max)}`, { httpStatus: 413 })
  }
  if (!upload.body || declared === 0) throw missing('body', 'the request body (the media file) is empty')
  return ctx.deps.media.put(upload.body, { ...opts, mimeType: upload.mimeType, maxBytes: max, filename: opts.filename ?? upload.filename ?? null })
}

/** A media file the business uploads to send; it expires 30 days later, as in the On-Prem client. */
export function uploadMedia(ctx: WebContext, number: PhoneNumberRow, upload: Upload): Promise<MediaInfo> {
  const expiresAt = ctx.deps.clock.now() + UPLOADED_MEDIA_TTL_MS
  return putMedia(ctx, upload, { phoneNumberId: number.id, direction: 'out', expiresAt })
}

/** The media of this number (uploaded or received) with its decrypted stream; undefined if unknown. */
export async function openMedia(ctx: WebContext, number: PhoneNumberRow, id: string): Promise<{ media: MediaInfo; stream: Readable } | undefined> {
  const row = await ctx.store.media.getOwned(number.id, id)
  return row ? ctx.deps.media.open(row.id) : undefined
}

/** Deletes media of this number; 1006 if it has none with this id. */
export async function deleteMedia(ctx: WebContext, number: PhoneNumberRow, id: string): Promise<void> {
  const row = await ctx.store.media.getOwned(number.id, id)
  if (!row || !(await ctx.deps.media.delete(row.id))) throw notFound(`No media with id '${id}' for this number`)
}
