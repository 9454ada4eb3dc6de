import { truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { privateDir } from '../private-files.js'
import { appendFile, KeptOpenFile, readFileIfExists, writeFileAtomic } from '../signal/atomic-file.js'
import { KeyedQueue } from '../signal/keyed-queue.js'
import { PhoneMessages, type InboxEntry, type InboxView, type OutboxEntry, type OutboxView, type StatusEvent } from './phone-messages.js'

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

const FILES = { profile: 'phone.json', inbox: 'inbox.jsonl', outbox: 'outbox.jsonl', status: 'status.jsonl' } as const

/** Received and sent messages a phone keeps in memory; older ones are read back from its logs. */
export const MESSAGES_KEPT = 50

/**
 * A phone's folder: profile written atomically, messages and status changes as append-only
 * JSONL. Memory holds the newest messages and the counts; asking for more reads the logs
 * again, so a phone that receives for hours stays the same size. A line torn by a crash is
 * cut off on the next open.
 */
export class PhoneStorage {
  readonly dir: string
  readonly #fsync: boolean
  #profile: PhoneProfile | null
  readonly #messages: PhoneMessages
  readonly #writes = new KeyedQueue()
  /** The JSONL logs, their descriptors kept open between appends (without fsync). */
  readonly #logs = new Map<string, KeptOpenFile>()

  private constructor(dir: string, profile: PhoneProfile | null, fsync: boolean, messages: PhoneMessages) {
    this.dir = dir
    this.#fsync = fsync
    this.#profile = profile
    this.#messages = messages
  }

  /** `fsync: false` keeps process crashes safe but not power loss; fine for load tests. */
  static async open(dir: string, opts: { fsync?: boolean } = {}): Promise<PhoneStorage> {
    // a phone's Signal keys and messages: owner-only (its files are created 0600)
    privateDir(dir)
    const profile = await readFileIfExists(join(dir, FILES.profile))
    const messages = (await replay(dir, true)).newest(MESSAGES_KEPT)
    return new PhoneStorage(dir, profile ? (JSON.parse(profile.toString('utf8')) as PhoneProfile) : null, opts.fsync ?? true, messages)
  }

  /** The profile a phone's folder holds (it registered), without opening its messages. */
  static async readProfile(dir: string): Promise<PhoneProfile | null> {
    const profile = await readFileIfExists(join(dir, FILES.profile))
    return profile ? (JSON.parse(profile.toString('utf8')) as PhoneProfile) : null
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

  /** The entry an envelope became, among the messages in memory. */
  inboxByEnvelope(envelopeId: string): InboxView | undefined {
    const entry = this.#messages.byEnvelope(envelopeId)
    return entry && { ...entry }
  }

  /** The entry an envelope became, if it was persisted at all (the logs are read when memory does not have it). */
  async findByEnvelope(envelopeId: string): Promise<InboxView | undefined> {
    const entry = this.#messages.byEnvelope(envelopeId) ?? (this.#messages.inboxComplete ? undefined : (await this.#all()).byEnvelope(envelopeId))
    return entry && { ...entry }
  }

  hasReceipt(receiptId: string): boolean {
    return this.#messages.hasReceipt(receiptId)
  }

  /** How many messages the phone received, and how many of those it has not read. */
  inboxCounts(): { total: number; unread: number } {
    return this.#messages.counts
  }

  async inbox(): Promise<InboxView[]> {
    const messages = this.#messages.inboxComplete ? this.#messages : await this.#all()
    return messages.inbox.map((e) => ({ ...e }))
  }

  /** Received messages by id (failed ones have none), undefined for ids the phone never received. */
  async inboxEntries(ids: string[]): Promise<(InboxView | undefined)[]> {
    let messages = this.#messages
    if (!messages.inboxComplete && ids.some((id) => !messages.inboxEntry(id))) messages = await this.#all()
    return ids.map((id) => {
      const entry = messages.inboxEntry(id)
      return entry && { ...entry }
    })
  }

  async outbox(): Promise<OutboxView[]> {
    const messages = this.#messages.outboxComplete ? this.#messages : await this.#all()
    return [...messages.outbox].map((e) => ({ ...e }))
  }

  /** A message sent lately (memory keeps the newest). */
  outboxEntry(envelopeId: string): OutboxView | undefined {
    const entry = this.#messages.outboxEntry(envelopeId)
    return entry && { ...entry }
  }

  // Memory holds what the file holds (bytes as base64), so views look the same before and after a restart.
  async appendInbox(entry: InboxEntry): Promise<InboxView> {
    return { ...this.#messages.addInbox(await this.#append(FILES.inbox, entry)) }
  }

  async appendOutbox(entry: OutboxEntry): Promise<void> {
    this.#messages.addOutbox(await this.#append(FILES.outbox, entry))
  }

  async appendStatus(event: StatusEvent): Promise<void> {
    this.#messages.applyStatus(await this.#append(FILES.status, event))
  }

  /** Everything the logs hold now; a line still being written is left for the next read. */
  #all(): Promise<PhoneMessages> {
    return replay(this.dir, false)
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

/** The logs replayed in full; `repair` cuts a line torn by a crash, so the next append starts on a fresh line. */
async function replay(dir: string, repair: boolean): Promise<PhoneMessages> {
  const messages = new PhoneMessages()
  for (const e of await readJsonl<InboxEntry>(join(dir, FILES.inbox), repair)) messages.addInbox(e)
  for (const e of await readJsonl<OutboxEntry>(join(dir, FILES.outbox), repair)) messages.addOutbox(e)
  for (const e of await readJsonl<StatusEvent>(join(dir, FILES.status), repair)) messages.applyStatus(e)
  return messages
}

async function readJsonl<T>(path: string, repair: boolean): Promise<T[]> {
  const text = (await readFileIfExists(path))?.toString('utf8')
  if (!text) return []
  const end = text.lastIndexOf('\n') + 1
  if (repair && end < text.length) await truncate(path, Buffer.byteLength(text.slice(0, end)))
  return text
    .slice(0, end)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T)
}
