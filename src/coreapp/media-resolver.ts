import { performance } from 'node:perf_hooks'
import { request } from 'undici'
import type { MediaObject } from '../domain/message/outbound.js'
import { CloudCode, OnPremCode, WebhookCode } from '../errors/index.js'
import type { MediaVolume } from '../media/volume.js'
import { encryptMedia } from '../signal/media-crypto.js'
import type { MediaProvider } from '../store/profile.js'
import type { Store } from '../store/store.js'
import type { NetworkClient } from '../wire/client.js'
import type { MediaRef } from '../wire/content.js'
import { failure, type Failure } from './failures.js'

export type UploadedMedia = Omit<MediaRef, 'caption' | 'filename'>

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
  readonly #uploads = new Map<string, { ref: Promise<UploadedMedia>; at: number }>()

  constructor(store: Store, media: MediaVolume, downloadTimeoutMs = MEDIA_DOWNLOAD_TIMEOUT_MS) {
    this.#store = store
    this.#media = media
    this.#downloadTimeoutMs = downloadTimeoutMs
  }

  resolve(phoneNumberId: string, object: MediaObject, client: NetworkClient): Promise<UploadedMedia> {
    const key = object.id ? `${phoneNumberId}:id:${object.id}` : `${phoneNumberId}:link:${object.link ?? ''}:${object.provider?.name ?? ''}`
    const cached = this.#uploads.get(key)
    const now = performance.now()
    if (cached && now - cached.at < CACHE_MS) return cached.ref
    const ref = this.#upload(phoneNumberId, object, client)
    const entry = { ref, at: now }
    if (this.#uploads.size >= CACHE_ENTRIES) this.#uploads.delete(this.#uploads.keys().next().value!)
    this.#uploads.set(key, entry)
    ref.catch(() => {
      if (this.#uploads.get(key) === entry) this.#uploads.delete(key)
    })
    return ref
  }

  async #upload(phoneNumberId: string, object: MediaObject, client: NetworkClient): Promise<UploadedMedia> {
    const { bytes, mimeType } = object.id ? await this.#fromVolume(phoneNumberId, object.id) : await this.#fromLink(phoneNumberId, object)
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

  async #fromLink(phoneNumberId: string, object: MediaObject): Promise<{ bytes: Uint8Array; mimeType: string }> {
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
      return await download(object.link, headers, deadline)
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
    const bytes = new Uint8Array(await res.body.arrayBuffer())
    if (bytes.length === 0) throw new MediaFailure(linkFailure(`${link} is empty`))
    const type = res.headers['content-type']
    return { bytes, mimeType: (Array.isArray(type) ? type[0] : type) ?? 'application/octet-stream' }
  }
  throw new MediaFailure(linkFailure(`${link} redirects too often`))
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
