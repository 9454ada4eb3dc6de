import { randomBytes } from 'node:crypto'
import { closeSync, constants, fdatasync, openSync, readFileSync, writeSync } from 'node:fs'
import { readFile, rename, rm } from 'node:fs/promises'

/**
 * Replaces `path` with `data` so that a crash leaves either the old or the new content,
 * never a torn file: write a sibling temp file, optionally fsync it, rename over.
 *
 * These are small files on a local disk: open, write and close take microseconds, less than
 * a round trip through libuv's thread pool (a phone fleet under load spent a sixth of its CPU
 * dispatching them), so they run inline. fsync and the rename stay off the event loop: a
 * rename over an existing file makes ext4 start writing the new data back (auto_da_alloc),
 * which took a third of a phone fleet's main thread when it ran inline.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, opts: { fsync?: boolean } = {}): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`
  await writeFd(tmp, 'w', data, opts.fsync ?? false)
  try {
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}

/** Appends `data` to `path` (created with mode 0600), inline like writeFileAtomic. */
export function appendFile(path: string, data: string, opts: { fsync?: boolean } = {}): Promise<void> {
  return writeFd(path, 'a', data, opts.fsync ?? false)
}

async function writeFd(path: string, flags: 'w' | 'a', data: Uint8Array | string, fsync: boolean): Promise<void> {
  const fd = openSync(path, flags, 0o600)
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off)
    if (fsync) await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())))
  } finally {
    closeSync(fd)
  }
}

/** The file's bytes, or null when it does not exist. */
export async function readFileIfExists(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

/**
 * A file written often (a phone's inbox log, a session slot) whose descriptor stays open
 * between writes: an open and close around every write were a tenth of a phone fleet's CPU.
 * At most `KeptOpenFile.limit` stay open in the process, the least recently written closed first
 * (reopened on its next write); owners close theirs when they stop. A descriptor belongs to
 * one owner, never shared by path, so a file recreated under a new owner is never written
 * through an older owner's descriptor. Durability is unchanged: a write lands in the page
 * cache either way, and callers that fsync open the file per write as before (an eviction
 * must not close a descriptor while fdatasync waits on it).
 */
export class KeptOpenFile {
  /** A quarter of the process's descriptor limit (sockets need the rest), at most 8,192. */
  static limit = Math.max(16, Math.min(8192, Math.floor(openFilesLimit() / 4)))
  /** Open ones, least recently written first (a Set keeps insertion order). */
  static readonly #open = new Set<KeptOpenFile>()
  readonly path: string
  readonly #flags: number
  readonly #append: boolean
  #fd: number | null = null

  /** `append`: writes go to the end (O_APPEND); otherwise each write names its position. */
  constructor(path: string, opts: { append: boolean }) {
    this.path = path
    this.#append = opts.append
    this.#flags = constants.O_WRONLY | constants.O_CREAT | (opts.append ? constants.O_APPEND : 0)
  }

  /** Writes all of `data` (a string as UTF-8), at `position` (ignored when appending). */
  write(data: Uint8Array | string, position = 0): void {
    const open = KeptOpenFile.#open
    let fd = this.#fd
    if (fd === null) {
      fd = this.#fd = openSync(this.path, this.#flags, 0o600)
      while (open.size > 0 && open.size >= KeptOpenFile.limit) open.values().next().value!.close()
    } else open.delete(this)
    open.add(this)
    try {
      let off = 0
      let bytes: Uint8Array
      if (typeof data === 'string') {
        // a string goes to the kernel without a Buffer on the heap; a short write finishes from one
        off = writeSync(fd, data, this.#append ? null : position, 'utf8')
        bytes = off < Buffer.byteLength(data) ? Buffer.from(data) : EMPTY
      } else bytes = data
      for (; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off, this.#append ? null : position + off)
    } catch (err) {
      this.close()
      throw err
    }
  }

  close(): void {
    if (this.#fd === null) return
    KeptOpenFile.#open.delete(this)
    const fd = this.#fd
    this.#fd = null
    closeSync(fd)
  }
}

const EMPTY = new Uint8Array(0)

function openFilesLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+(\d+|unlimited)/m)
    if (line) return line[1] === 'unlimited' ? Infinity : Number(line[1])
  } catch {
    // not Linux: assume the common soft limit
  }
  return 1024
}
