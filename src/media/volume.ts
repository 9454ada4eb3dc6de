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
import { checkMedia, formatBytes, MAX_MEDIA_BYTES, parseMime, type MediaCategory, type ParsedMime } from './limits.js'
import { createOpenStream, createSealStream } from './sealed-stream.js'
import { SNIFF_BYTES } from './sniff.js'
import { MediaUrlSigner } from './url-signature.js'

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

function tooLarge(what: string, max: number): WaboxError {
  return new WaboxError(OnPremCode.PARAMETER_INVALID, `${what} may be at most ${formatBytes(max)}`, { httpStatus: 413 })
}

/** The declared type parsed; 1009 when it is not a media type and the content is to be checked. */
function declaredType(opts: PutOptions): ParsedMime | undefined {
  const parsed = parseMime(opts.mimeType)
  if (!parsed && (opts.validate ?? true)) {
    throw new WaboxError(OnPremCode.PARAMETER_INVALID, `Content-Type: '${opts.mimeType}' is not a valid media type`)
  }
  return parsed
}

function mimeOf(parsed: ParsedMime | undefined): string {
  return parsed?.normalized ?? 'application/octet-stream'
}

/** The size limit of content that starts with `head` and claims `declared`; throws when it is not what it claims. */
function limitFor(declared: ParsedMime, head: Buffer, categories: MediaCategory[] | undefined): number {
  if (head.length === 0) throw new WaboxError(OnPremCode.PARAMETER_MISSING, 'The request body (the media file) is empty')
  const verdict = checkMedia(declared, head)
  if (categories && !categories.includes(verdict.category)) {
    throw new WaboxError(OnPremCode.PARAMETER_INVALID, `Content-Type: ${declared.essence} is not accepted here; expected ${categories.join(' or ')}`)
  }
  return verdict.maxBytes
}

/** Bytes sealed on the volume whose row is not written yet (see `MediaVolume.stage`). */
export interface StagedMedia {
  readonly id: string
  /** Plaintext size and sha256. */
  readonly size: number
  readonly sha256: string
  /** The first bytes, for checking the content against a type declared later. */
  readonly head: Buffer
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
  /** Signs and checks the short-lived download URLs of this volume's files. */
  readonly urls: MediaUrlSigner
  /** Temporary file of each staged upload. */
  readonly #staging = new WeakMap<StagedMedia, string>()

  constructor(options: MediaVolumeOptions) {
    if (options.key.length !== 32) throw new Error('The media volume key must be 32 bytes')
    this.root = options.root
    this.#key = options.key
    this.#store = options.store
    this.urls = new MediaUrlSigner(options.key)
  }

  /** Streams `source` onto the volume; throws a WaboxError (1009, 413 for size) when rejected. */
  async put(source: MediaSource, opts: PutOptions): Promise<MediaInfo> {
    const parsed = declaredType(opts)
    const validate = opts.validate ?? true
    // checked as soon as the first bytes arrive, so a wrong upload is refused before it is all written
    const check = validate && parsed ? (head: Buffer) => limitFor(parsed, head, opts.categories) : undefined
    const staged = await this.#stage(source, { id: opts.id, maxBytes: opts.maxBytes, check, what: `Media of type ${mimeOf(parsed)}` })
    return this.#file(staged, opts, mimeOf(parsed))
  }

  /**
   * Streams `source` onto the volume without filing it: for uploads whose type may be declared
   * only after the bytes (a multipart form may name it after the file part). `commit` or `discard` it.
   */
  stage(source: MediaSource, opts: { maxBytes?: number; id?: string; mimeType?: string } = {}): Promise<StagedMedia> {
    // a type known already is checked as the bytes arrive; commit checks the type it is given
    const parsed = parseMime(opts.mimeType)
    const check = parsed ? (head: Buffer) => limitFor(parsed, head, undefined) : undefined
    return this.#stage(source, { id: opts.id, maxBytes: opts.maxBytes, check, what: parsed ? `Media of type ${parsed.normalized}` : 'The file' })
  }

  /** Checks staged bytes against their declared type and its size limit, then files them; a refused file is removed. */
  async commit(staged: StagedMedia, opts: PutOptions): Promise<MediaInfo> {
    let mimeType: string
    try {
      const parsed = declaredType(opts)
      mimeType = mimeOf(parsed)
      if ((opts.validate ?? true) && parsed) {
        const limit = Math.min(limitFor(parsed, staged.head, opts.categories), opts.maxBytes ?? MAX_MEDIA_BYTES)
        if (staged.size > limit) throw tooLarge(`Media of type ${mimeType}`, limit)
      }
    } catch (err) {
      await this.discard(staged)
      throw err
    }
    return this.#file(staged, opts, mimeType)
  }

  /** Removes staged bytes that will not be filed (nothing if they were filed or removed already). */
  async discard(staged: StagedMedia): Promise<void> {
    const tmp = this.#staging.get(staged)
    if (tmp === undefined) return
    this.#staging.delete(staged)
    await fs.promises.rm(tmp, { force: true })
  }

  async #stage(source: MediaSource, opts: { id?: string | undefined; maxBytes?: number | undefined; check?: ((head: Buffer) => number) | undefined; what: string }): Promise<StagedMedia> {
    const id = opts.id ?? mediaId()
    if (!SAFE_ID.test(id)) throw new Error(`Unsafe media id ${JSON.stringify(id)}`)
    const hash = createHash('sha256')
    let size = 0
    let head = Buffer.alloc(0)
    let checked = false
    let limit = Math.min(opts.maxBytes ?? MAX_MEDIA_BYTES, MAX_MEDIA_BYTES)
    const inspect = (final: boolean) => {
      if (checked || (head.length < SNIFF_BYTES && !final)) return
      checked = true
      if (opts.check) limit = Math.min(limit, opts.check(head))
    }
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done: TransformCallback) {
        try {
          size += chunk.length
          if (!checked) head = Buffer.concat([head, chunk])
          inspect(false)
          if (checked && size > limit) throw tooLarge(opts.what, limit)
          hash.update(chunk)
          done(null, chunk)
        } catch (err) {
          done(err as Error)
        }
      },
      flush(done: TransformCallback) {
        try {
          inspect(true)
          if (size > limit) throw tooLarge(opts.what, limit)
          done()
        } catch (err) {
          done(err as Error)
        }
      },
    })

    const tmpDir = path.join(this.root, 'tmp')
    const tmp = path.join(tmpDir, `${id}.part`)
    await fs.promises.mkdir(tmpDir, { recursive: true, mode: 0o700 })
    // created before streaming starts, so the cleanup below always finds what it must remove
    const fh = await fs.promises.open(tmp, 'wx', 0o600)
    try {
      const input = source instanceof Uint8Array ? Readable.from([Buffer.from(source)]) : source
      // flush: fsync before close, so a file that was acknowledged survives a crash
      await pipeline(input, meter, createSealStream(this.#key), fs.createWriteStream('', { fd: fh, flush: true }))
    } catch (err) {
      await fs.promises.rm(tmp, { force: true })
      throw err
    }
    const staged: StagedMedia = { id, size, sha256: hash.digest('hex'), head }
    this.#staging.set(staged, tmp)
    return staged
  }

  /** Moves staged bytes into place and writes their row. */
  async #file(staged: StagedMedia, opts: PutOptions, mimeType: string): Promise<MediaInfo> {
    const tmp = this.#staging.get(staged)
    if (!tmp) throw new Error(`Media ${staged.id} is not staged on this volume`)
    this.#staging.delete(staged)
    let rel = path.join(staged.id.slice(0, 2), staged.id)
    let final: string
    try {
      // a regional number's media go to its region's media root, the row names the region
      const region = await this.#store.ctx.regions?.of(this.#store.ctx.db, opts.phoneNumberId)
      if (region) rel = `${REGION_FILE}${region.name}/${rel}`
      final = this.#path(rel)
      await fs.promises.mkdir(path.dirname(final), { recursive: true, mode: 0o700 })
      await moveFile(tmp, final)
    } catch (err) {
      await fs.promises.rm(tmp, { force: true })
      throw err
    }
    const record = {
      id: staged.id, phoneNumberId: opts.phoneNumberId, mimeType, size: staged.size, sha256: staged.sha256,
      filename: opts.filename ?? null, direction: opts.direction ?? 'out', file: rel, expiresAt: opts.expiresAt ?? null,
    }
    try {
      await this.#store.media.insert(record)
    } catch (err) {
      await fs.promises.rm(final, { force: true })
      throw err
    }
    return {
      id: record.id, phoneNumberId: record.phoneNumberId, mimeType, size: record.size, sha256: record.sha256, filename: record.filename,
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
    // open before returning, so a missing file is an error here and not mid-response; a region
    // change may rename the row and remove the old file between the two reads: look once more
    const fh = await fs.promises.open(this.#path(row.file), 'r').catch(async (err: NodeJS.ErrnoException) => {
      const again = err.code === 'ENOENT' ? await this.#store.media.get(id) : undefined
      if (!again || again.file === row.file) throw err
      return fs.promises.open(this.#path(again.file), 'r')
    })
    const source = fh.createReadStream()
    const stream = source.pipe(createOpenStream(this.#key))
    // pipe() leaves the source open when the decryption fails or the download is aborted, and
    // does not pass on a read error: unheard, it would end the process
    stream.once('close', () => source.destroy())
    source.once('error', (err) => stream.destroy(err))
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
    await fs.promises.rm(this.#path(row.file), { force: true })
    return deleted
  }

  /** Where a row's file is: under the volume, or `@REGION/…` under that region's media root. */
  #path(file: string): string {
    if (!file.startsWith(REGION_FILE)) return path.join(this.root, file)
    const slash = file.indexOf('/')
    const name = file.slice(REGION_FILE.length, slash)
    const region = this.#store.ctx.regions?.get(name)
    if (!region) throw new Error(`media file ${file} is kept in region ${name}, which is not configured here; add --region ${name}=LOCATION`)
    return path.join(region.mediaRoot, file.slice(slash + 1))
  }
}

/** Prefix of a media row's file kept under a region's media root. */
const REGION_FILE = '@'

/** rename(), or copy and unlink where the region's media root is on another file system. */
async function moveFile(from: string, to: string): Promise<void> {
  try {
    await fs.promises.rename(from, to)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err
    await fs.promises.copyFile(from, to)
    await fs.promises.rm(from, { force: true })
  }
}
