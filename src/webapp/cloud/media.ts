import type { Readable } from 'node:stream'
import multipart from '@fastify/multipart'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CloudCode, WaboxError } from '../../errors/index.js'
import { CLOUD_MEDIA_TYPES, formatBytes, parseMime } from '../../media/limits.js'
import type { StagedMedia } from '../../media/volume.js'
import type { MediaRow, PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'
import { commitUpload, deleteMedia, discardUpload, findMedia, openMedia, stageUpload } from '../services/media.js'
import { graphPrincipal, numberInReach, requireCloudHosted, requireScope } from './auth.js'
import { unsupportedRequest } from './envelope.js'
import type { GraphObjectKind } from './objects.js'
import { graphVersion } from './paths.js'

/** Media URLs are valid for 5 minutes, as Meta's are (cloud-api.md §2). */
export const MEDIA_URL_TTL_MS = 5 * 60 * 1000

/** The path of a media download; `GET /{media_id}` answers it signed, with an expiry. */
const DOWNLOAD_PATH = '/media/download'

/** The text fields an upload form may carry besides its `file` part. */
const FORM_FIELDS = ['messaging_product', 'type']
/** Longest text field accepted (a media type or "whatsapp" is far shorter). */
const FIELD_BYTES = 256

const NumberParams = Type.Object({ phone_number_id: Type.String() })
const UploadQuery = Type.Object({
  messaging_product: Type.Optional(Type.String({ description: '"whatsapp": here or as a form field' })),
}, { additionalProperties: true })
const DownloadParams = Type.Object({ media_id: Type.String() })
const DownloadQuery = Type.Object({
  expires: Type.Optional(Type.String({ description: 'unix seconds' })),
  sig: Type.Optional(Type.String()),
}, { additionalProperties: true })

type UploadRequest = FastifyRequest<{ Params: Static<typeof NumberParams>; Querystring: Static<typeof UploadQuery> }>
type DownloadRequest = FastifyRequest<{ Params: Static<typeof DownloadParams>; Querystring: Static<typeof DownloadQuery> }>

function badParameter(details: string): WaboxError {
  return new WaboxError(CloudCode.INVALID_PARAMETER, details)
}

/** Meta answers 100 when the product is missing or another. */
function checkProduct(product: string | undefined): void {
  if (product === 'whatsapp') return
  throw badParameter(product === undefined
    ? "Missing required parameter 'messaging_product': must be \"whatsapp\", as a form field or a query parameter"
    : `Invalid value for 'messaging_product': must be "whatsapp", got ${JSON.stringify(product.slice(0, 40))}`)
}

/**
 * The media checks (content against type, the type's size limit) are the volume's, in On-Prem
 * words; the Cloud API answers them with 131053 and names its own fields.
 */
function uploadError(err: WaboxError, typeField = true): WaboxError {
  const d = err.details
  const details = d.startsWith('Content-Type: ') ? `type: ${d.slice('Content-Type: '.length)}${typeField ? '' : PART_TYPE_HINT}`
    : d.startsWith('The request body (the media file) is empty') ? "file: the 'file' part is empty"
      : `file: ${d}`
  return new WaboxError(CloudCode.MEDIA_UPLOAD_ERROR, details)
}

/** Without a type field the type is the file part's Content-Type, which multipart defaults to text/plain. */
const PART_TYPE_HINT = " (taken from the 'file' part's Content-Type, text/plain when the part has none: send the media type as the type field)"

/** The limits and framing errors of the multipart parser, as Graph errors naming the rule. */
function formError(err: Error & { code?: string; syscall?: string }, maxBytes: number): Error {
  switch (err.code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return new WaboxError(CloudCode.MEDIA_UPLOAD_ERROR, `file: at most ${formatBytes(maxBytes)}`)
    case 'FST_FILES_LIMIT':
      return badParameter("file: send exactly one file part, named 'file'")
    case 'FST_FIELDS_LIMIT':
    case 'FST_PARTS_LIMIT':
      return badParameter(`The form has too many parts: an upload takes a 'file' part and the fields ${FORM_FIELDS.join(', ')}`)
  }
  // a failing disk is the server's problem, not a malformed form
  if (err.syscall) return err
  return badParameter(`The multipart/form-data body is malformed: ${err.message}`)
}

interface UploadForm {
  staged: StagedMedia | undefined
  /** Content-Type and name of the file part. */
  fileType: string | undefined
  filename: string | undefined
  fields: Record<string, string>
}

/**
 * Reads the form, streaming its file onto the volume as it comes. Fields may follow the file
 * (Meta's own curl example sends `type` after it), so the type is checked once all is read.
 */
async function readForm(ctx: WebContext, request: FastifyRequest): Promise<UploadForm> {
  const form: UploadForm = { staged: undefined, fileType: undefined, filename: undefined, fields: {} }
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file') throw badParameter(`Form part '${part.fieldname.slice(0, 40)}' is a file: the media goes in the part named 'file'`)
        form.fileType = part.mimetype
        form.filename = part.filename
        // a type given before the file is checked as the bytes arrive
        form.staged = await stageUpload(ctx, part.file as Readable, form.fields.type)
        continue
      }
      const name = part.fieldname
      if (!FORM_FIELDS.includes(name)) {
        throw badParameter(`Unknown form field '${name.slice(0, 40)}': an upload takes a 'file' part and the fields ${FORM_FIELDS.join(', ')}`)
      }
      if (name in form.fields) throw badParameter(`Form field '${name}' is given twice`)
      if (part.valueTruncated) throw badParameter(`Form field '${name}': at most ${FIELD_BYTES} bytes`)
      form.fields[name] = String(part.value)
    }
  } catch (err) {
    if (form.staged) await discardUpload(ctx, form.staged)
    if (err instanceof WaboxError) throw err.dialect === 'onprem' ? uploadError(err) : err
    throw formError(err as Error, ctx.limits.mediaBodyBytes)
  }
  return form
}

/** The declared media type: the `type` field, else the file part's Content-Type; one the Cloud API takes. */
function declaredType(form: UploadForm): string {
  const declared = form.fields.type || form.fileType || ''
  const essence = parseMime(declared)?.essence
  if (!essence || !CLOUD_MEDIA_TYPES.includes(essence)) {
    throw new WaboxError(CloudCode.MEDIA_UPLOAD_ERROR,
      `type: '${declared.slice(0, 80)}' is not a supported media type; upload one of ${CLOUD_MEDIA_TYPES.join(', ')}`)
  }
  return declared
}

async function upload(ctx: WebContext, request: UploadRequest, reply: FastifyReply): Promise<{ id: string }> {
  const number = await numberInReach(ctx, request, request.params.phone_number_id, ['whatsapp_business_messaging'])
  requireCloudHosted(number, 'upload its media')
  return receiveUpload(ctx, number, request, reply)
}

/**
 * Files a multipart upload (a `file` part, `messaging_product` as field or query, `type`) as
 * media of `number`: Meta's and 360dialog's `POST …/media`, in a scope that `acceptForms` set up.
 */
export async function receiveUpload(ctx: WebContext, number: PhoneNumberRow, request: FastifyRequest, reply: FastifyReply): Promise<{ id: string }> {
  const queried = (request.query as Static<typeof UploadQuery>).messaging_product
  if (queried !== undefined) checkProduct(queried)
  if (!request.isMultipart()) {
    const type = request.headers['content-type']
    throw badParameter(`Content-Type: an upload is multipart/form-data with a 'file' part; got ${type ? `'${type.slice(0, 60)}'` : 'none'}`)
  }
  const form = await readForm(ctx, request).catch((err: unknown) => {
    // a form refused half-way leaves the rest of its body unread: do not reuse the socket
    if (!request.raw.readableEnded) void reply.header('connection', 'close')
    throw err
  })
  const { staged } = form
  if (!staged) throw badParameter("Missing required parameter 'file': the media, as a form part named 'file' with its Content-Type")
  try {
    checkProduct(form.fields.messaging_product ?? queried)
    const mimeType = declaredType(form)
    const media = await commitUpload(ctx, number, staged, { mimeType, filename: form.filename?.slice(0, 240) ?? null })
    return { id: media.id }
  } catch (err) {
    // commit removes what it refuses; a refusal before it leaves the file staged
    await discardUpload(ctx, staged)
    throw err instanceof WaboxError && err.dialect === 'onprem' ? uploadError(err, !!form.fields.type) : err
  }
}

/** The media `id` names, if the caller's token reaches its number; undefined when it names no media. */
async function reachableMedia(ctx: WebContext, request: FastifyRequest, id: string): Promise<{ media: MediaRow; number: PhoneNumberRow } | undefined> {
  const media = await findMedia(ctx, id)
  if (!media) return undefined
  const p = graphPrincipal(request)
  const number = await ctx.numberById(media.phone_number_id)
  // another WABA's media looks exactly like none
  if (p.kind !== 'token' || !number || number.waba_id !== p.wabaId) throw unsupportedRequest(request.method, id)
  requireScope(p, 'whatsapp_business_messaging')
  requireCloudHosted(number, 'use its media')
  const query = request.query as { phone_number_id?: unknown }
  const asked = query.phone_number_id
  if (asked !== undefined && asked !== '' && asked !== number.id) {
    throw badParameter(`Invalid value for query parameter 'phone_number_id': media ${id} does not belong to phone number ${String(asked).slice(0, 40)}`)
  }
  request.phoneNumberId = number.id
  return { media, number }
}

/** A URL on this listener (as the caller reached it) that downloads the media until it expires. */
function downloadUrl(ctx: WebContext, request: FastifyRequest, mediaId: string): string {
  const version = graphVersion(request.originalUrl.split('?')[0] ?? '')
  const path = `${version ? `/${version}` : ''}${DOWNLOAD_PATH}/${encodeURIComponent(mediaId)}`
  return `${request.protocol}://${request.host}${path}?${signedQuery(ctx, mediaId)}`
}

/** Media as `GET /{media_id}` shows it, with the URL that downloads it. */
export function mediaObject(media: MediaRow, url: string): object {
  return {
    messaging_product: 'whatsapp', url, mime_type: media.mime_type,
    // a string, as Meta's examples and SDK types have it
    sha256: media.sha256, file_size: String(media.size), id: media.id,
  }
}

/** The query that lets a download URL of `mediaId` through `checkSignedUrl` until it expires. */
export function signedQuery(ctx: WebContext, mediaId: string): string {
  const expires = Math.floor((ctx.deps.clock.now() + MEDIA_URL_TTL_MS) / 1000)
  return `expires=${expires}&sig=${ctx.deps.media.urls.sign(mediaId, expires)}`
}

/** `GET|DELETE /{media_id}`: media as a Graph object. */
export function mediaKind(ctx: WebContext): GraphObjectKind {
  return {
    name: 'media',
    handlers: {
      GET: async (request, id) => {
        const found = await reachableMedia(ctx, request, id)
        if (!found) return undefined
        return mediaObject(found.media, downloadUrl(ctx, request, found.media.id))
      },
      DELETE: async (request, id) => {
        const found = await reachableMedia(ctx, request, id)
        if (!found) return undefined
        await deleteMedia(ctx, found.number, id)
        return { success: true }
      },
    },
  }
}

/** Checks a download URL's expiry and signature; 100 naming what is wrong. */
export function checkSignedUrl(ctx: WebContext, id: string, { expires, sig }: { expires?: string | undefined; sig?: string | undefined }): void {
  const renew = 'get a fresh URL with GET /{media_id}'
  if (expires === undefined || sig === undefined) throw badParameter(`The media URL lacks its 'expires' and 'sig' query parameters: ${renew}`)
  const seconds = /^\d{1,12}$/.test(expires) ? Number(expires) : NaN
  if (!Number.isSafeInteger(seconds) || !ctx.deps.media.urls.verify(id, seconds, sig)) {
    throw badParameter(`Invalid value for query parameter 'sig': it does not sign this media URL; ${renew}`)
  }
  if (ctx.deps.clock.now() >= seconds * 1000) {
    throw badParameter(`The media URL expired at ${new Date(seconds * 1000).toISOString()} (media URLs are valid for 5 minutes): ${renew}`)
  }
}

async function download(ctx: WebContext, request: DownloadRequest, reply: FastifyReply): Promise<FastifyReply> {
  const id = request.params.media_id
  checkSignedUrl(ctx, id, request.query)
  const found = await reachableMedia(ctx, request, id)
  const opened = found && await openMedia(ctx, found.number, id)
  if (!opened) throw unsupportedRequest(request.method, id)
  void reply.type(opened.media.mimeType).header('content-length', opened.media.size)
  return reply.send(opened.stream)
}

/** Makes a scope parse upload forms with their limits, and leave any other body for `receiveUpload` to refuse clearly. */
export async function acceptForms(app: FastifyInstance, ctx: WebContext): Promise<void> {
  await app.register(multipart, {
    // one byte over the limit, so the volume sees the file is too large and says by how much
    limits: { fileSize: ctx.limits.mediaBodyBytes + 1, files: 1, fields: 8, parts: 10, fieldSize: FIELD_BYTES },
  })
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
}

/** Parses only this scope's bodies: multipart forms, and any other body left for the handler to refuse clearly. */
async function uploadScope(app: FastifyInstance, ctx: WebContext): Promise<void> {
  await acceptForms(app, ctx)
  app.post<{ Params: Static<typeof NumberParams>; Querystring: Static<typeof UploadQuery> }>('/:phone_number_id/media', {
    // uploads write nothing the request caches hold
    config: { keepCaches: true },
    schema: {
      tags: ['cloud'],
      summary: 'Upload media: multipart/form-data with a file part, type and messaging_product=whatsapp',
      description: 'Types: audio (aac, amr, mpeg, mp4, ogg/opus) 16 MB, documents (text, pdf, Office) 100 MB, image (jpeg, png) 5 MB, '
        + 'sticker (webp) 100 KB (animated 500 KB), video (mp4, 3gp) 16 MB. The content must match the type. Answers {id}.',
      params: NumberParams,
      querystring: UploadQuery,
    },
  }, async (request, reply) => upload(ctx, request, reply))
}

/**
 * The Cloud media routes: `POST /{phone_number_id}/media` (multipart, parsed in a scope of its
 * own so JSON parsing elsewhere is untouched) and the short-lived download URL. `GET|DELETE
 * /{media_id}` are `mediaKind`, served by the plugin's `/{id}` route.
 */
export async function cloudMediaRoutes(app: FastifyInstance, ctx: WebContext): Promise<void> {
  await app.register(async (scope) => uploadScope(scope, ctx))
  app.get<{ Params: Static<typeof DownloadParams>; Querystring: Static<typeof DownloadQuery> }>(`${DOWNLOAD_PATH}/:media_id`, {
    schema: {
      tags: ['cloud'],
      summary: 'Download media: the url of GET /{media_id}, with the same access token, for 5 minutes',
      params: DownloadParams,
      querystring: DownloadQuery,
    },
  }, async (request, reply) => download(ctx, request, reply))
}
