import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { WaboxError, WebhookCode } from '../errors/index.js'
import type { MediaProvider } from '../store/profile.js'
import { formatBytes, MAX_MEDIA_BYTES } from './limits.js'
import type { MediaInfo, MediaVolume } from './volume.js'

export interface LinkDownloadOptions {
  phoneNumberId: string
  /** Credentials for the link's server (`provider.name` of the message → the number's provider). */
  provider?: MediaProvider
  /** Type to store when the server sends none (or only application/octet-stream). */
  fallbackMimeType?: string
  maxBytes?: number
  timeoutMs?: number
  /** Check the bytes against the type and the per-type limits (default true). */
  validate?: boolean
  /** Injected for tests or for an SSRF-guarded client; default the global fetch. */
  fetch?: typeof fetch
}

function authorization(provider: MediaProvider | undefined): Record<string, string> {
  const c = provider?.config
  if (c?.bearer) return { authorization: `Bearer ${c.bearer}` }
  if (c?.basic) return { authorization: 'Basic ' + Buffer.from(`${c.basic.username}:${c.basic.password}`).toString('base64') }
  return {}
}

function downloadError(details: string, cause?: unknown): WaboxError {
  return new WaboxError(WebhookCode.MEDIA_DOWNLOAD_ERROR, details, cause === undefined ? {} : { cause })
}

/**
 * Fetches `link` media (a message's `image.link` …) onto the volume, with the media provider's
 * credentials. Failures are 400 "Media download error", the code a failed status carries.
 * Deciding which hosts may be fetched (SSRF) is the caller's business: pass a guarded fetch.
 */
export async function downloadLink(volume: MediaVolume, link: string, opts: LinkDownloadOptions): Promise<MediaInfo> {
  const max = Math.min(opts.maxBytes ?? MAX_MEDIA_BYTES, MAX_MEDIA_BYTES)
  const doFetch = opts.fetch ?? fetch
  let res: Response
  try {
    res = await doFetch(link, { headers: authorization(opts.provider), redirect: 'follow', signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000) })
  } catch (err) {
    throw downloadError(`Could not fetch ${link}: ${(err as Error).message}`, err)
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel()
    throw downloadError(`Fetching ${link} answered HTTP ${res.status}`)
  }
  const length = Number(res.headers.get('content-length') ?? NaN)
  if (length > max) {
    await res.body.cancel()
    throw downloadError(`${link} is ${length} bytes; media may be at most ${formatBytes(max)}`)
  }
  const header = res.headers.get('content-type')?.trim()
  const mimeType = header && !header.startsWith('application/octet-stream') ? header : opts.fallbackMimeType ?? header ?? 'application/octet-stream'
  const name = decodeURIComponent(new URL(res.url || link).pathname.split('/').pop() ?? '')
  try {
    return await volume.put(Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), {
      phoneNumberId: opts.phoneNumberId,
      mimeType,
      filename: name || null,
      maxBytes: max,
      validate: opts.validate ?? true,
    })
  } catch (err) {
    if (err instanceof WaboxError) throw downloadError(`${link}: ${err.details}`, err)
    throw downloadError(`Could not store ${link}: ${(err as Error).message}`, err)
  }
}
