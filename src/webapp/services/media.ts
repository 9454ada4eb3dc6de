import type { Readable } from 'node:stream'
import { missing, OnPremCode, WaboxError } from '../../errors/index.js'
import { formatBytes, UPLOADED_MEDIA_TTL_MS } from '../../media/limits.js'
import type { MediaInfo, PutOptions, StagedMedia } from '../../media/volume.js'
import type { MediaRow, PhoneNumberRow } from '../../store/schema.js'
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

/** Where an upload of the business goes: it expires 30 days later, as in the On-Prem client and the Cloud API. */
function uploaded(ctx: WebContext, number: PhoneNumberRow) {
  return { phoneNumberId: number.id, direction: 'out' as const, expiresAt: ctx.deps.clock.now() + UPLOADED_MEDIA_TTL_MS }
}

/** A media file the business uploads to send. */
export function uploadMedia(ctx: WebContext, number: PhoneNumberRow, upload: Upload): Promise<MediaInfo> {
  return putMedia(ctx, upload, uploaded(ctx, number))
}

/**
 * Streams an upload whose type may be declared only after its bytes (a multipart form); file it
 * with `commitUpload` or drop it with `discardUpload`. A type known already is checked as the bytes arrive.
 */
export function stageUpload(ctx: WebContext, body: Readable, mimeType?: string): Promise<StagedMedia> {
  return ctx.deps.media.stage(body, { maxBytes: ctx.limits.mediaBodyBytes, ...(mimeType ? { mimeType } : {}) })
}

/** Files a staged upload as media the business uploads, once its content matched `mimeType` and its limit. */
export function commitUpload(ctx: WebContext, number: PhoneNumberRow, staged: StagedMedia, upload: { mimeType: string; filename?: string | null }): Promise<MediaInfo> {
  return ctx.deps.media.commit(staged, { ...uploaded(ctx, number), mimeType: upload.mimeType, filename: upload.filename ?? null, maxBytes: ctx.limits.mediaBodyBytes })
}

export function discardUpload(ctx: WebContext, staged: StagedMedia): Promise<void> {
  return ctx.deps.media.discard(staged)
}

/** Media by id alone, whichever number it belongs to (uploaded or received); undefined if unknown or expired. */
export async function findMedia(ctx: WebContext, id: string): Promise<MediaRow | undefined> {
  const row = await ctx.store.media.get(id)
  return row && (row.expires_at === null || row.expires_at > ctx.deps.clock.now()) ? row : undefined
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
