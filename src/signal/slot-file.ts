import { closeSync, constants, fdatasync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { crc32 } from 'node:zlib'
import { KeptOpenFile } from './atomic-file.js'

const MAGIC = 0x57535331 // 'WSS1'
const HEADER = 16

/**
 * A small record rewritten often (a Signal session, after every message), kept in two slot
 * files written in turn, each `magic | seq | length | crc32 | bytes`. A write overwrites the
 * older slot in place, so a crash mid-write tears only that slot and the other still holds
 * the previous record; a read takes the valid slot with the higher seq.
 *
 * Why not temp file + rename: a rename over an existing file makes ext4 write the new data
 * back at once (auto_da_alloc), and with a session saved per message that writeback was the
 * largest cost of a phone fleet under load. Rewriting blocks in place needs no new inode,
 * no truncate and no rename. Writes run inline through descriptors kept open (atomic-file.ts);
 * with fsync each write opens its slot, and only the fsync leaves the event loop.
 */
export class SlotFile {
  readonly #paths: [string, string]
  readonly #kept: [KeptOpenFile, KeptOpenFile]
  /** Seq of the newest record; undefined until the slots were read. */
  #seq: number | undefined

  constructor(path: string) {
    this.#paths = [`${path}.0`, `${path}.1`]
    this.#kept = [new KeptOpenFile(this.#paths[0], { append: false }), new KeptOpenFile(this.#paths[1], { append: false })]
  }

  /** The newest intact record; null when neither slot holds one. */
  read(): Uint8Array | null {
    let best: { seq: number; bytes: Uint8Array } | null = null
    for (const path of this.#paths) {
      const record = parse(readIfExists(path))
      if (record && (!best || record.seq > best.seq)) best = record
    }
    this.#seq = best?.seq ?? -1
    return best?.bytes ?? null
  }

  /** Writes `bytes` over the older slot. */
  async write(bytes: Uint8Array, opts: { fsync: boolean }): Promise<void> {
    if (this.#seq === undefined) this.read()
    const seq = this.#seq! + 1
    const record = Buffer.allocUnsafe(HEADER + bytes.length)
    record.writeUInt32BE(MAGIC, 0)
    record.writeUInt32BE(seq, 4)
    record.writeUInt32BE(bytes.length, 8)
    record.writeUInt32BE(crc32(bytes), 12)
    record.set(bytes, HEADER)
    if (opts.fsync) await writeAndSync(this.#paths[seq % 2]!, record)
    else this.#kept[seq % 2]!.write(record, 0)
    this.#seq = seq
  }

  remove(): void {
    this.close()
    for (const path of this.#paths) rmSync(path, { force: true })
    this.#seq = -1
  }

  /** Closes the descriptors kept open; a later write reopens them. */
  close(): void {
    for (const kept of this.#kept) kept.close()
  }
}

async function writeAndSync(path: string, record: Buffer): Promise<void> {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o600)
  try {
    for (let off = 0; off < record.length; ) off += writeSync(fd, record, off, record.length - off, off)
    await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())))
  } finally {
    closeSync(fd)
  }
}

function parse(file: Buffer | null): { seq: number; bytes: Uint8Array } | null {
  if (!file || file.length < HEADER || file.readUInt32BE(0) !== MAGIC) return null
  const length = file.readUInt32BE(8)
  if (file.length < HEADER + length) return null
  const bytes = file.subarray(HEADER, HEADER + length)
  return crc32(bytes) === file.readUInt32BE(12) ? { seq: file.readUInt32BE(4), bytes: new Uint8Array(bytes) } : null
}

function readIfExists(path: string): Buffer | null {
  try {
    return readFileSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}
