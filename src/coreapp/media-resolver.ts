import { performance } from 'node:perf_hooks'
import { request } from 'undici'
import type { MediaObject } from '../domain/message/outbound.js'
import { CloudCode, OnPremCode, WebhookCode } from '../errors/index.js'
import { CATEGORY_LIMITS, checkMedia, formatBytes, parseMime, type MediaCategory } from '../media/limits.js'
import { SNIFF_BYTES, sniff } from '../media/sniff.js'
import type { MediaVolume } from '../media/volume.js'
import { encryptMedia } from '../signal/media-crypto.js'
import type { MediaProvider } from '../store/profile.js'
import type { Store } from '../store/store.js'
import type { NetworkClient } from '../wire/client.js'
import type { MediaRef } from '../wire/content.js'
import { failure, type Failure } from './failures.js'

export type UploadedMedia = Omit<MediaRef, 'caption' | 'filename'>

/** How a message sends the media: a media id was checked for it when the API accepted it, a `link` is checked once downloaded. */
export interface MediaUse {
  kind: MediaCategory
  /** Called at once when the media is not ready yet (a download or upload is under way). */
  onWait?: () => void
}

/** A media object that cannot be sent; carries the failure to report. */
export class MediaFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.details)
  }
}

const MAX_LINK_BYTES = 100 * 1024 * 1024
const MAX_REDIRECTS = 5
const CACHE_ENTRIES = 2000
const CACHE_MS = 60 * 60 * 1000
/**
 * A `link` download as a whole (connect, redirects, headers, body): a host that stalls or
 * trickles its answer fails the message in bounded time rather than holding its send.
 */
export const MEDIA_DOWNLOAD_TIMEOUT_MS = 20_000

/**
 * Turns a media object (`id` on the volume, or `link`) into an encrypted blob on the network.
 * One upload serves every recipient of the same media for an hour: the blob is ciphertext
 * under a key only the message carries.
 */
export class MediaResolver {
  readonly #store: Store
  readonly #media: MediaVolume
  readonly #downloadTimeoutMs: number
  readonly #uploads = new Map<string, { ref: Promise<UploadedMedia>; at: number; settled: boolean }>()

  constructor(store: Store, media: MediaVolume, downloadTimeoutMs = MEDIA_DOWNLOAD_TIMEOUT_MS) {
    this.#store = store
    this.#media = media
    this.#downloadTimeoutMs = downloadTimeoutMs
  }

  resolve(phoneNumberId: string, object: MediaObject, client: NetworkClient, use: MediaUse): Promise<UploadedMedia> {
    const key = object.id ? `${phoneNumberId}:id:${object.id}` : `${phoneNumberId}:link:${use.kind}:${object.link ?? ''}:${object.provider?.name ?? ''}`
    const cached = this.#uploads.get(key)
    const now = performance.now()
    if (cached && now - cached.at < CACHE_MS) {
      if (!cached.settled) use.onWait?.()
      return cached.ref
    }
    const ref = this.#upload(phoneNumberId, object, client, use.kind)
    const entry = { ref, at: now, settled: false }
    if (this.#uploads.size >= CACHE_ENTRIES) this.#uploads.delete(this.#uploads.keys().next().value!)
    this.#uploads.set(key, entry)
    ref.then(() => (entry.settled = true), () => {
      entry.settled = true
      if (this.#uploads.get(key) === entry) this.#uploads.delete(key)
    })
    use.onWait?.()
    return ref
  }

  async #upload(phoneNumberId: string, object: MediaObject, client: NetworkClient, kind: MediaCategory): Promise<UploadedMedia> {
    const { bytes, mimeType } = object.id ? await this.#fromVolume(phoneNumberId, object.id) : await this.#fromLink(phoneNumberId, object, kind)
    const encrypted = encryptMedia(bytes)
    const blobId = await client.uploadBlob(encrypted.ciphertext)
    return { blobId, key: encrypted.key, iv: encrypted.iv, sha256: encrypted.sha256, mimeType, size: bytes.length }
  }

  async #fromVolume(phoneNumberId: string, id: string): Promise<{ bytes: Uint8Array; mimeType: string }> {
    const info = await this.#media.info(id)
    if (!info || info.phoneNumberId !== phoneNumberId) throw new MediaFailure(failure(OnPremCode.RESOURCE_NOT_FOUND, `media ${id} not found`))
    const bytes = await this.#media.read(id)
    if (!bytes) throw new MediaFailure(failure(OnPremCode.RESOURCE_NOT_FOUND, `media ${id} not found`))
    return { bytes, mimeType: info.mimeType }
  }

  async #fromLink(phoneNumberId: string, object: MediaObject, kind: MediaCategory): Promise<{ bytes: Uint8Array; mimeType: string }> {
    if (!object.link) throw new MediaFailure(failure(OnPremCode.PARAMETER_MISSING, 'media object has neither id nor link'))
    const headers: Record<string, string> = {}
    if (object.provider?.name) {
      const providers = await this.#store.profiles.mediaProviders(phoneNumberId)
      const provider = providers.find((p) => p.name === object.provider?.name)
      if (!provider) throw new MediaFailure(linkFailure(`media provider ${object.provider.name} is not configured`))
      Object.assign(headers, providerHeaders(provider))
    }
    const deadline = AbortSignal.timeout(this.#downloadTimeoutMs)
    try {
      return checkLinkMedia(object.link, kind, await download(object.link, headers, deadline))
    } catch (err) {
      if (err instanceof MediaFailure) throw err
      // a body that breaks off or stalls fails the message as an unreachable host does: left a
      // transient error, the message would be retried without end until it expires
      const reason = deadline.aborted ? `no complete answer within ${this.#downloadTimeoutMs / 1000} s` : (err as Error).message
      throw new MediaFailure(linkFailure(`could not download ${object.link}: ${reason}`))
    }
  }
}

/** GETs `link` with its redirects under one deadline; an answer that is not the media is a MediaFailure. */
async function download(link: string, headers: Record<string, string>, signal: AbortSignal): Promise<{ bytes: Uint8Array; mimeType: string }> {
  let url = link
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await request(url, { method: 'GET', headers, signal })
    const location = res.headers.location
    if (res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string') {
      await res.body.dump()
      url = new URL(location, url).toString()
      continue
    }
    if (res.statusCode !== 200) {
      await res.body.dump()
      throw new MediaFailure(linkFailure(`downloading ${link} answered HTTP ${res.statusCode}`))
    }
    const length = Number(res.headers['content-length'] ?? 0)
    if (length > MAX_LINK_BYTES) {
      await res.body.dump()
      throw new MediaFailure(linkFailure(`${link} is larger than 100 MB`))
    }
    const bytes = await readAtMost(res.body, MAX_LINK_BYTES)
    if (!bytes) throw new MediaFailure(linkFailure(`${link} is larger than 100 MB`))
    if (bytes.length === 0) throw new MediaFailure(linkFailure(`${link} is empty`))
    const type = res.headers['content-type']
    return { bytes, mimeType: (Array.isArray(type) ? type[0] : type) ?? 'application/octet-stream' }
  }
  throw new MediaFailure(linkFailure(`${link} redirects too often`))
}

/** The body, or undefined once it passes `max` bytes (a chunked answer declares no length). */
async function readAtMost(body: AsyncIterable<Buffer> & { destroy(): unknown }, max: number): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.length
    if (size > max) {
      body.destroy()
      return undefined
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, size)
}

/** Content types that say nothing about the content: the bytes decide. */
const GENERIC_TYPES = new Set(['application/octet-stream', 'binary/octet-stream', 'application/binary'])

/**
 * What the API checks of an uploaded media id, for a downloaded link: its type fits how the
 * message sends it, and its size the limit of that kind (a 20 MB image fails, a PDF sent as
 * `image` fails). A host that names no useful type is judged by the bytes.
 */
function checkLinkMedia(link: string, kind: MediaCategory, media: { bytes: Uint8Array; mimeType: string }): { bytes: Uint8Array; mimeType: string } {
  const head = media.bytes.subarray(0, SNIFF_BYTES)
  let declared = parseMime(media.mimeType)
  if (!declared || GENERIC_TYPES.has(declared.essence)) {
    const sniffed = sniff(head)
    declared = sniffed ? { essence: sniffed.mime, normalized: sniffed.mime } : declared
  }
  if (!declared) throw new MediaFailure(linkFailure(`${link} has no media type (Content-Type: ${media.mimeType})`))
  let verdict
  try {
    verdict = checkMedia(declared, head)
  } catch (err) {
    throw new MediaFailure(linkFailure(`${link}: ${(err as Error).message}`))
  }
  if (kind !== 'document' && verdict.category !== kind) {
    throw new MediaFailure(linkFailure(`${link} is ${declared.essence}, which cannot be sent as ${kind}`))
  }
  // any file may go as a document, within the document limit
  const maxBytes = kind === 'document' ? CATEGORY_LIMITS.document : verdict.maxBytes
  if (media.bytes.length > maxBytes) {
    throw new MediaFailure(linkFailure(`${link} is ${formatBytes(media.bytes.length)}; ${kind} media is limited to ${formatBytes(maxBytes)}`))
  }
  return { bytes: media.bytes, mimeType: declared.normalized }
}

/** On-Prem reports a failed `link` as 400 Media download error; Cloud as 131053 Media upload error. */
function linkFailure(details: string): Failure {
  return failure(WebhookCode.MEDIA_DOWNLOAD_ERROR, details, CloudCode.MEDIA_UPLOAD_ERROR)
}

export function providerHeaders(provider: MediaProvider): Record<string, string> {
  if (provider.config.bearer) return { authorization: `Bearer ${provider.config.bearer}` }
  if (provider.config.basic) {
    const { username, password } = provider.config.basic
    return { authorization: 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64') }
  }
  return {}
}
