import { randomBytes } from 'node:crypto'
import { closeSync, fdatasync, openSync, writeSync } from 'node:fs'
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
