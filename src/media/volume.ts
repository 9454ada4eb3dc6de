import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { Readable, Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { OnPremCode, WaboxError } from '../errors/index.js'
import { mediaId } from '../ids.js'
import type { NewMediaRecord } from '../store/media.js'
import type { MediaRow } from '../store/schema.js'
import type { Store } from '../store/store.js'
import { checkMedia, formatBytes, MAX_MEDIA_BYTES, parseMime, type MediaCategory } from './limits.js'
import { createOpenStream, createSealStream } from './sealed-stream.js'
import { SNIFF_BYTES } from './sniff.js'

export type MediaSource = Readable | AsyncIterable<Uint8Array> | Uint8Array

export interface PutOptions {
  phoneNumberId: string
  /** The declared Content-Type. */
  mimeType: string
  filename?: string | null
  /** out (business upload, default) | in (downloaded from a user) | profile (profile photo). */
  direction?: 'out' | 'in' | 'profile'
  /**
   * Check the bytes against the declared type (magic bytes) and apply the per-type size limits
   * of onprem-api.md §4. Default true; the CoreApp may store inbound media as received.
   */
  validate?: boolean
  /** Only these categories are accepted (e.g. `['image']` for a profile photo). */
  categories?: MediaCategory[]
  /** Overall cap, default 100 MB. */
  maxBytes?: number
  /** Store under this id instead of a fresh UUID. */
  id?: string
  expiresAt?: number | null
}

/** What callers learn of a stored file: its record, without where the sealed bytes live. */
export type MediaInfo = Omit<NewMediaRecord, 'file' | 'expiresAt'> & { createdAt: number }

export interface MediaVolumeOptions {
  /** Directory of the volume, e.g. `<dataDir>/media`. */
  root: string
  /** 32-byte volume key, e.g. `deriveMediaKey(atRestKey)`. */
  key: Buffer
  store: Store
}

const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/

function info(row: MediaRow): MediaInfo {
  return {
    id: row.id, phoneNumberId: row.phone_number_id, mimeType: row.mime_type, size: Number(row.size),
    sha256: row.sha256, filename: row.filename, direction: row.direction, createdAt: row.created_at,
  }
}

function tooLarge(mime: string, max: number): WaboxError {
  return new WaboxError(OnPremCode.PARAMETER_INVALID, `Media of type ${mime} may be at most ${formatBytes(max)}`, { httpStatus: 413 })
}

/**
 * The media volume: files encrypted at rest (streamed AES-256-GCM), one row each in `media`
 * with the sha256 and size of the plaintext. Uploads are streamed to a temporary file and
 * renamed into place once complete, so a reader never sees half a file.
 */
export class MediaVolume {
  readonly root: string
  readonly #key: Buffer
  readonly #store: Store

  constructor(options: MediaVolumeOptions) {
    if (options.key.length !== 32) throw new Error('The media volume key must be 32 bytes')
    this.root = options.root
    this.#key = options.key
    this.#store = options.store
  }

  /** Streams `source` onto the volume; throws a WaboxError (1009, 413 for size) when rejected. */
  async put(source: MediaSource, opts: PutOptions): Promise<MediaInfo> {
    const id = opts.id ?? mediaId()
    if (!SAFE_ID.test(id)) throw new Error(`Unsafe media id ${JSON.stringify(id)}`)
    const validate = opts.validate ?? true
    const parsed = parseMime(opts.mimeType)
    if (!parsed && validate) {
      throw new WaboxError(OnPremCode.PARAMETER_INVALID, `Content-Type: '${opts.mimeType}' is not a valid media type`)
    }
    const mimeType = parsed?.normalized ?? 'application/octet-stream'
    const cap = Math.min(opts.maxBytes ?? MAX_MEDIA_BYTES, MAX_MEDIA_BYTES)

    const hash = createHash('sha256')
    let size = 0
    let head: Buffer | undefined = Buffer.alloc(0)
    let limit = cap
    const inspect = (chunk: Buffer | undefined, final: boolean) => {
      if (head === undefined) return
      if (chunk) head = Buffer.concat([head, chunk])
      if (head.length < SNIFF_BYTES && !final) return
      if (validate && parsed) {
        if (head.length === 0) throw new WaboxError(OnPremCode.PARAMETER_MISSING, 'The request body (the media file) is empty')
        const verdict = checkMedia(parsed, head)
        if (opts.categories && !opts.categories.includes(verdict.category)) {
          throw new WaboxError(OnPremCode.PARAMETER_INVALID, `Content-Type: ${parsed.essence} is not accepted here; expected ${opts.categories.join(' or ')}`)
        }
        limit = Math.min(limit, verdict.maxBytes)
      }
      head = undefined
      if (size > limit) throw tooLarge(mimeType, limit)
    }
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done: TransformCallback) {
        try {
          size += chunk.length
          inspect(chunk, false)
          if (head === undefined && size > limit) throw tooLarge(mimeType, limit)
          hash.update(chunk)
          done(null, chunk)
        } catch (err) {
          done(err as Error)
        }
      },
      flush(done: TransformCallback) {
        try {
          inspect(undefined, true)
          done()
        } catch (err) {
          done(err as Error)
        }
      },
    })

    const rel = path.join(id.slice(0, 2), id)
    const final = path.join(this.root, rel)
    const tmpDir = path.join(this.root, 'tmp')
    const tmp = path.join(tmpDir, `${id}.part`)
    await fs.promises.mkdir(tmpDir, { recursive: true, mode: 0o700 })
    // created before streaming starts, so the cleanup below always finds what it must remove
    const fh = await fs.promises.open(tmp, 'wx', 0o600)
    try {
      const input = source instanceof Uint8Array ? Readable.from([Buffer.from(source)]) : source
      // flush: fsync before close, so a file that was acknowledged survives a crash
      await pipeline(input, meter, createSealStream(this.#key), fs.createWriteStream('', { fd: fh, flush: true }))
      await fs.promises.mkdir(path.dirname(final), { recursive: true, mode: 0o700 })
      await fs.promises.rename(tmp, final)
    } catch (err) {
      await fs.promises.rm(tmp, { force: true })
      throw err
    }
    const record = {
      id, phoneNumberId: opts.phoneNumberId, mimeType, size, sha256: hash.digest('hex'),
      filename: opts.filename ?? null, direction: opts.direction ?? 'out', file: rel, expiresAt: opts.expiresAt ?? null,
    }
    try {
      await this.#store.media.insert(record)
    } catch (err) {
      await fs.promises.rm(final, { force: true })
      throw err
    }
    return {
      id, phoneNumberId: record.phoneNumberId, mimeType, size, sha256: record.sha256, filename: record.filename,
      direction: record.direction, createdAt: this.#store.ctx.clock.now(),
    }
  }

  async info(id: string): Promise<MediaInfo | undefined> {
    const row = await this.#store.media.get(id)
    return row && info(row)
  }

  /** The file's row and a stream of its plaintext; undefined if unknown. */
  async open(id: string): Promise<{ media: MediaInfo; stream: Readable } | undefined> {
    const row = await this.#store.media.get(id)
    if (!row) return undefined
    const file = path.join(this.root, row.file)
    // open before returning, so a missing file is an error here and not mid-response
    const fh = await fs.promises.open(file, 'r')
    const source = fh.createReadStream()
    const stream = source.pipe(createOpenStream(this.#key))
    // pipe() leaves the source open when the decryption fails or the download is aborted
    stream.once('close', () => source.destroy())
    return { media: info(row), stream }
  }

  /** The plaintext as a stream; undefined if unknown. */
  async get(id: string): Promise<Readable | undefined> {
    return (await this.open(id))?.stream
  }

  /** The whole plaintext in memory (for the CoreApp, which encrypts it for the network anyway). */
  async read(id: string): Promise<Buffer | undefined> {
    const opened = await this.open(id)
    if (!opened) return undefined
    const chunks: Buffer[] = []
    for await (const chunk of opened.stream) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks)
  }

  /** Removes the row and the file; false if unknown. */
  async delete(id: string): Promise<boolean> {
    const row = await this.#store.media.get(id)
    if (!row) return false
    const deleted = await this.#store.media.delete(id)
    await fs.promises.rm(path.join(this.root, row.file), { force: true })
    return deleted
  }
}
