import { truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { privateDir } from '../private-files.js'
import { appendFile, KeptOpenFile, readFileIfExists, writeFileAtomic } from '../signal/atomic-file.js'
import { KeyedQueue } from '../signal/keyed-queue.js'

export type ReplyScript = { mode: 'none' } | { mode: 'echo' } | { mode: 'fixed'; text: string }

/** A phone's account and behaviour settings (`phone.json`). */
export interface PhoneProfile {
  waId: string
  cc: string
  phone: string
  password: string
  profileName: string
  script: ReplyScript
  autoDeliver: boolean
  /** null: never read automatically. */
  autoReadDelayMs: number | null
  blocked: string[]
  offline: boolean
}

/** One received message (`inbox.jsonl`); content bytes are stored as base64 strings. */
export interface InboxEntry {
  /** The message id the sender chose (a wamid for businesses). */
  id: string
  envelopeId: string
  from: string
  receivedAt: number
  content?: unknown
  /** Decrypted media, relative to the phone folder. */
  mediaFile?: string
  /** Why the media could not be fetched or verified. */
  mediaError?: string
  identityChanged?: { hash: string }
  /** Set instead of content when the envelope could not be decrypted or decoded. */
  error?: string
}

/** One message the phone sent (`outbox.jsonl`); envelopeId equals id. */
export interface OutboxEntry {
  id: string
  envelopeId: string
  to: string
  sentAt: number
  content: unknown
}

/** Status changes (`status.jsonl`): receipts for sent messages, read marks, failures. */
export type StatusEvent =
  | { type: 'receipt'; receiptId: string; from: string; kind: 'delivered' | 'read'; envelopeIds: string[]; timestamp: number }
  | { type: 'read'; ids: string[]; at: number }
  | { type: 'failed'; envelopeId: string; code: string; message: string; at: number }

export interface InboxView extends InboxEntry {
  readAt?: number
}

export interface OutboxView extends OutboxEntry {
  status: 'sent' | 'delivered' | 'read' | 'failed'
  deliveredAt?: number
  readAt?: number
  error?: { code: string; message: string }
}

const FILES = { profile: 'phone.json', inbox: 'inbox.jsonl', outbox: 'outbox.jsonl', status: 'status.jsonl' } as const

/**
 * A phone's folder: profile written atomically, messages and status changes as append-only
 * JSONL replayed into memory on open. A line torn by a crash is cut off on the next open.
 */
export class PhoneStorage {
  readonly dir: string
  readonly #fsync: boolean
  #profile: PhoneProfile | null
  readonly #inbox: InboxView[] = []
  readonly #inboxById = new Map<string, InboxView>()
  readonly #byEnvelope = new Map<string, InboxView>()
  readonly #outbox = new Map<string, OutboxView>()
  readonly #receipts = new Set<string>()
  readonly #writes = new KeyedQueue()
  /** The JSONL logs, their descriptors kept open between appends (without fsync). */
  readonly #logs = new Map<string, KeptOpenFile>()

  private constructor(dir: string, profile: PhoneProfile | null, fsync: boolean) {
    this.dir = dir
    this.#fsync = fsync
    this.#profile = profile
  }

  /** `fsync: false` keeps process crashes safe but not power loss; fine for load tests. */
  static async open(dir: string, opts: { fsync?: boolean } = {}): Promise<PhoneStorage> {
    // a phone's Signal keys and messages: owner-only (its files are created 0600)
    privateDir(dir)
    const profile = await readFileIfExists(join(dir, FILES.profile))
    const storage = new PhoneStorage(dir, profile ? (JSON.parse(profile.toString('utf8')) as PhoneProfile) : null, opts.fsync ?? true)
    for (const e of await readJsonl<InboxEntry>(join(dir, FILES.inbox))) storage.#applyInbox(e)
    for (const e of await readJsonl<OutboxEntry>(join(dir, FILES.outbox))) storage.#outbox.set(e.envelopeId, { ...e, status: 'sent' })
    for (const e of await readJsonl<StatusEvent>(join(dir, FILES.status))) storage.#applyStatus(e)
    return storage
  }

  get profile(): PhoneProfile | null {
    return this.#profile
  }

  async saveProfile(profile: PhoneProfile): Promise<void> {
    await this.#writes.run(FILES.profile, () => this.#writeProfile(profile))
  }

  /** Merges `change` into the profile as it is when the write runs, so concurrent changes all land. */
  async updateProfile(change: Partial<PhoneProfile> | ((current: PhoneProfile) => Partial<PhoneProfile>)): Promise<void> {
    await this.#writes.run(FILES.profile, () => {
      const current = this.#profile
      if (!current) throw new Error('phone has no profile yet')
      return this.#writeProfile({ ...current, ...(typeof change === 'function' ? change(current) : change) })
    })
  }

  async #writeProfile(profile: PhoneProfile): Promise<void> {
    await writeFileAtomic(join(this.dir, FILES.profile), JSON.stringify(profile, null, 2), { fsync: this.#fsync })
    this.#profile = profile
  }

  /** The entry an envelope became, if it was persisted already. */
  inboxByEnvelope(envelopeId: string): InboxView | undefined {
    const entry = this.#byEnvelope.get(envelopeId)
    return entry && { ...entry }
  }

  hasReceipt(receiptId: string): boolean {
    return this.#receipts.has(receiptId)
  }

  inbox(): InboxView[] {
    return this.#inbox.map((e) => ({ ...e }))
  }

  inboxEntry(id: string): InboxView | undefined {
    const entry = this.#inboxById.get(id)
    return entry && { ...entry }
  }

  outbox(): OutboxView[] {
    return [...this.#outbox.values()].map((e) => ({ ...e }))
  }

  outboxEntry(envelopeId: string): OutboxView | undefined {
    const entry = this.#outbox.get(envelopeId)
    return entry && { ...entry }
  }

  // Memory holds what the file holds (bytes as base64), so views look the same before and after a restart.
  async appendInbox(entry: InboxEntry): Promise<InboxView> {
    return { ...this.#applyInbox(await this.#append(FILES.inbox, entry)) }
  }

  async appendOutbox(entry: OutboxEntry): Promise<void> {
    const stored = await this.#append(FILES.outbox, entry)
    this.#outbox.set(stored.envelopeId, { ...stored, status: 'sent' })
  }

  async appendStatus(event: StatusEvent): Promise<void> {
    this.#applyStatus(await this.#append(FILES.status, event))
  }

  #applyInbox(entry: InboxEntry): InboxView {
    const view = { ...entry }
    this.#inbox.push(view)
    this.#byEnvelope.set(entry.envelopeId, view)
    if (!entry.error) this.#inboxById.set(entry.id, view)
    return view
  }

  #applyStatus(event: StatusEvent): void {
    switch (event.type) {
      case 'read':
        for (const id of event.ids) {
          const entry = this.#inboxById.get(id)
          if (entry) entry.readAt ??= event.at
        }
        return
      case 'failed': {
        const entry = this.#outbox.get(event.envelopeId)
        if (entry) Object.assign(entry, { status: 'failed', error: { code: event.code, message: event.message } })
        return
      }
      case 'receipt':
        this.#receipts.add(event.receiptId)
        for (const envelopeId of event.envelopeIds) {
          const entry = this.#outbox.get(envelopeId)
          if (!entry || entry.status === 'failed') continue
          // a read receipt implies delivery; receipts may arrive in either order
          entry.deliveredAt ??= event.timestamp
          if (event.kind === 'read') entry.readAt ??= event.timestamp
          entry.status = entry.readAt !== undefined ? 'read' : 'delivered'
        }
    }
  }

  /** Closes the logs' descriptors kept open between appends; a later append reopens them. */
  close(): void {
    for (const log of this.#logs.values()) log.close()
  }

  /** Appends one record; resolves with it as it will read back from the file. */
  async #append<T>(file: string, record: T): Promise<T> {
    // a replacer makes V8 call back for every value: only records holding bytes need it
    const json = holdsBytes(record, 0) ? JSON.stringify(record, bytesAsBase64) : JSON.stringify(record)
    const line = json + '\n'
    if (this.#fsync) await this.#writes.run(file, () => appendFile(join(this.dir, file), line, { fsync: true }))
    else this.#log(file).write(line)
    return JSON.parse(json) as T
  }

  #log(file: string): KeptOpenFile {
    let log = this.#logs.get(file)
    if (!log) this.#logs.set(file, (log = new KeptOpenFile(join(this.dir, file), { append: true })))
    return log
  }
}

/**
 * Whether `value` holds a Uint8Array anywhere, or anything else a plain JSON.stringify might
 * not render as the replacer would (a toJSON method; nesting too deep to walk).
 */
function holdsBytes(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return false
  if (value instanceof Uint8Array || typeof (value as { toJSON?: unknown }).toJSON === 'function' || depth > 32) return true
  if (Array.isArray(value)) return value.some((v) => holdsBytes(v, depth + 1))
  for (const key in value) if (holdsBytes((value as Record<string, unknown>)[key], depth + 1)) return true
  return false
}

/** JSON.stringify replacer: Uint8Array/Buffer values become base64 strings. */
function bytesAsBase64(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key]
  return raw instanceof Uint8Array ? Buffer.from(raw).toString('base64') : value
}

async function readJsonl<T>(path: string): Promise<T[]> {
  const text = (await readFileIfExists(path))?.toString('utf8')
  if (!text) return []
  const end = text.lastIndexOf('\n') + 1
  // cut a torn last line so the next append starts on a fresh line
  if (end < text.length) await truncate(path, Buffer.byteLength(text.slice(0, end)))
  return text
    .slice(0, end)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T)
}
