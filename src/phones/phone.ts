import { EventEmitter } from 'node:events'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { pino, type Logger } from 'pino'
import { type Clock, systemClock } from '../clock.js'
import { messageId } from '../ids.js'
import { SignalAccount } from '../signal/account.js'
import { writeFileAtomic } from '../signal/atomic-file.js'
import { FileSignalStore } from '../signal/file-store.js'
import { KeyedQueue } from '../signal/keyed-queue.js'
import { decryptMedia, encryptMedia } from '../signal/media-crypto.js'
import { NetworkClient, WireRequestError } from '../wire/client.js'
import type { Content, MediaRef } from '../wire/content.js'
import { decodeContent, encodeContent } from '../wire/content-codec.js'
import { TYPING_MS, type EnvelopeFailedPush, type EnvelopePush, type EnvelopeSendResult, type PreKeyBundleWire, type ReceiptPush, type TypingPush } from '../wire/frames.js'
import { buildContent, isMediaRequest, mediaOf, type PhoneSendRequest } from './outgoing.js'
import type { InboxEntry, InboxView, OutboxView } from './phone-messages.js'
import { type PhoneProfile, PhoneStorage, type ReplyScript } from './phone-storage.js'
import { PhoneOfflineError, type PhoneEvents, type PhoneOptions } from './phone-options.js'
import { registerPhone } from './registration.js'
import { type Scheduler, timerScheduler } from './scheduler.js'

/**
 * A simulated consumer phone: its own Signal identity and folder, one network connection,
 * and the behaviours a tester scripts (auto-deliver, auto-read, replies, blocking).
 */
export class Phone extends EventEmitter<PhoneEvents> {
  readonly #opts: PhoneOptions
  readonly #storage: PhoneStorage
  readonly #signal: SignalAccount
  readonly #signalStore: FileSignalStore
  readonly #clock: Clock
  readonly #scheduler: Scheduler
  readonly #logger: Logger
  readonly #preKeys: number
  readonly #inbound = new KeyedQueue()
  readonly #pendingReads = new Set<() => void>()
  /** Who is typing to this phone, until when (clock ms); not persisted, as it lasts seconds. */
  readonly #typing = new Map<string, number>()
  #client: NetworkClient | null = null
  #topUp: Promise<void> | null = null
  readonly #handlers = new Set<Promise<void>>()

  private constructor(opts: PhoneOptions, storage: PhoneStorage, signal: SignalAccount, signalStore: FileSignalStore, logger: Logger) {
    super()
    this.#opts = opts
    this.#storage = storage
    this.#signal = signal
    this.#signalStore = signalStore
    this.#clock = opts.clock ?? systemClock
    this.#scheduler = opts.scheduler ?? timerScheduler
    this.#logger = logger
    this.#preKeys = opts.preKeys ?? 20
  }

  /** Opens the phone in `dir` (registering it first if the folder is new) and brings it online unless it was left offline. */
  static async start(opts: PhoneOptions): Promise<Phone> {
    const fsync = opts.fsync ?? false
    const storage = await PhoneStorage.open(opts.dir, { fsync })
    const logger = (opts.logger ?? pino({ level: 'silent' })).child({ phone: storage.profile?.waId ?? opts.register?.phone })
    if (!storage.profile) await registerPhone(opts, storage, logger)
    const profile = storage.profile!
    const signalStore = new FileSignalStore(join(opts.dir, 'signal'), { fsync })
    const signal = await SignalAccount.open({ waId: profile.waId, store: signalStore, clock: opts.clock })
    const phone = new Phone(opts, storage, signal, signalStore, logger)
    if (!profile.offline) await phone.#connect()
    return phone
  }

  get waId(): string {
    return this.#profile.waId
  }

  get profile(): Readonly<PhoneProfile> {
    return this.#profile
  }

  get online(): boolean {
    return this.#client?.connected ?? false
  }

  get dir(): string {
    return this.#storage.dir
  }

  /** Every message received, oldest first (the newest come from memory, the rest from the phone's folder). */
  inbox(): Promise<InboxView[]> {
    return this.#storage.inbox()
  }

  /** How many messages the phone received, and how many of them are unread. */
  inboxCounts(): { total: number; unread: number } {
    return this.#storage.inboxCounts()
  }

  outbox(): Promise<OutboxView[]> {
    return this.#storage.outbox()
  }

  /** The counterparties typing to this phone now: until their next message arrives, or TYPING_MS. */
  typing(): string[] {
    const now = this.#clock.now()
    return [...this.#typing].filter(([, until]) => until > now).map(([from]) => from)
  }

  get #profile(): PhoneProfile {
    return this.#storage.profile!
  }

  async #connect(): Promise<void> {
    const client = new NetworkClient({ url: this.#opts.networkUrl, clock: this.#opts.clock, reconnect: true, logger: this.#logger })
    client.on('envelope', (env) => this.#track(this.#onEnvelope(client, env), 'inbound envelope failed'))
    client.on('receipt', (r) => this.#track(this.#onReceipt(client, r), 'inbound receipt failed'))
    client.on('typing', (t) => this.#onTyping(t))
    client.on('keys.low', () => this.#track(this.#uploadKeys(client), 'pre-key top-up failed'))
    client.on('envelope.failed', (f) => this.#track(this.#onFailed(f), 'recording a failure failed'))
    client.on('replaced', () => {
      this.#logger.warn('another connection logged in as this phone')
      if (this.#client === client) this.#client = null
      this.emit('offline')
    })
    this.#client = client
    try {
      await client.connect()
      const { preKeysLeft } = await client.login(this.waId, this.#profile.password)
      // a new account, or one whose keys ran low while it was away
      if (preKeysLeft < Math.ceil(this.#preKeys / 2)) await this.#uploadKeys(client)
    } catch (err) {
      this.#client = null
      await client.close()
      throw err
    }
    this.emit('online')
  }

  // keys.low comes with every bundle fetched while low: one top-up in flight answers them all
  /** Keeps a pushed frame's handler so `close` can let it finish; its failure is logged, not thrown. */
  #track(work: Promise<void>, failure: string): void {
    const tracked = work.catch((err: unknown) => this.#logger.error({ err }, failure)).finally(() => this.#handlers.delete(tracked))
    this.#handlers.add(tracked)
  }

  #uploadKeys(client: NetworkClient): Promise<void> {
    this.#topUp ??= (async () => {
      try {
        const result = await client.request<{ preKeysLeft: number }>({ t: 'keys.upload', ...(await this.#signal.generateKeys(this.#preKeys)) })
        this.emit('keys', result.preKeysLeft)
      } finally {
        this.#topUp = null
      }
    })()
    return this.#topUp
  }

  #online(): NetworkClient {
    if (!this.#client) throw new PhoneOfflineError(`phone ${this.waId} is offline`)
    return this.#client
  }

  /** Goes offline (and stays offline across restarts) until `goOnline`. */
  async goOffline(): Promise<void> {
    await this.#storage.updateProfile({ offline: true })
    const client = this.#client
    this.#client = null
    await client?.close()
    this.emit('offline')
  }

  async goOnline(): Promise<void> {
    if (this.#client) return
    await this.#storage.updateProfile({ offline: false })
    await this.#connect()
  }

  async setScript(script: ReplyScript): Promise<void> {
    await this.#storage.updateProfile({ script })
  }

  async setBehaviour(change: Partial<Pick<PhoneProfile, 'autoDeliver' | 'autoReadDelayMs' | 'profileName'>>): Promise<void> {
    await this.#storage.updateProfile(change)
  }

  /** Blocks a business: the network stops its messages and counts the block against its quality. */
  async block(business: string): Promise<void> {
    await this.#online().request({ t: 'feedback', waId: business, kind: 'block' })
    await this.#storage.updateProfile((p) => ({ blocked: p.blocked.includes(business) ? p.blocked : [...p.blocked, business] }))
  }

  async unblock(business: string): Promise<void> {
    await this.#online().request({ t: 'feedback', waId: business, kind: 'unblock' })
    await this.#storage.updateProfile((p) => ({ blocked: p.blocked.filter((b) => b !== business) }))
  }

  async report(business: string): Promise<void> {
    await this.#online().request({ t: 'feedback', waId: business, kind: 'report' })
  }

  /** Encrypts and sends one message; media is encrypted and uploaded first. */
  async send(req: PhoneSendRequest): Promise<OutboxView> {
    const client = this.#online()
    const id = messageId()
    let media: MediaRef | undefined
    if (isMediaRequest(req)) {
      const encrypted = encryptMedia(req.data)
      const blobId = await client.uploadBlob(encrypted.ciphertext)
      media = { blobId, key: encrypted.key, iv: encrypted.iv, sha256: encrypted.sha256, mimeType: req.mimeType, size: req.data.length }
    }
    const content = buildContent(req, { id, sentAt: this.#clock.now(), profileName: this.#profile.profileName, media })
    const bundles = (waId: string) => client.request<PreKeyBundleWire>({ t: 'keys.get', waId })
    const { kind, body } = await this.#signal.encrypt(req.to, encodeContent(content), bundles)
    await this.#storage.appendOutbox({ id, envelopeId: id, to: req.to, sentAt: content.sentAt, content })
    try {
      await client.request<EnvelopeSendResult>({ t: 'envelope.send', envelopeId: id, to: req.to, kind, body })
      this.emit('envelope', { direction: 'out', envelopeId: id, peer: req.to, bytes: body.length })
    } catch (err) {
      const code = err instanceof WireRequestError ? err.code : 'internal'
      await this.#storage.appendStatus({ type: 'failed', envelopeId: id, code, message: (err as Error).message, at: this.#clock.now() })
      throw err
    }
    return this.#storage.outboxEntry(id)!
  }

  /** Marks received messages read (all unread when `ids` is omitted) and sends read receipts; returns the ids marked. */
  async markRead(ids?: string[]): Promise<string[]> {
    const client = this.#online()
    const entries = (ids ? await this.#storage.inboxEntries(ids) : await this.#storage.inbox()).filter(
      (e): e is InboxView => e !== undefined && !e.error && e.readAt === undefined,
    )
    if (entries.length === 0) return []
    const bySender = new Map<string, string[]>()
    for (const e of entries) bySender.set(e.from, (bySender.get(e.from) ?? []).concat(e.envelopeId))
    // receipts first: a crash before the mark means a repeated receipt, never a missing one
    await Promise.all([...bySender].map(([to, envelopeIds]) => client.request({ t: 'receipt.send', to, kind: 'read', envelopeIds })))
    const marked = entries.map((e) => e.id)
    await this.#storage.appendStatus({ type: 'read', ids: marked, at: this.#clock.now() })
    this.emit('read', marked)
    return marked
  }

  /** Disconnects, cancels pending behaviours and lets running handlers finish; the folder keeps everything. */
  async close(): Promise<void> {
    for (const cancel of this.#pendingReads) cancel()
    this.#pendingReads.clear()
    const client = this.#client
    this.#client = null
    await client?.close()
    await Promise.all(this.#handlers)
    this.#storage.close()
    this.#signalStore.close()
  }

  // Decrypt and persist run in arrival order per sender (the inbox keeps that order); the
  // receipts, behaviours and ack run outside that queue, so one round trip never holds up the
  // next message. The ack goes last: a phone killed before it gets the envelope again and
  // sends the receipts again, where an early ack would lose them.
  async #onEnvelope(client: NetworkClient, env: EnvelopePush): Promise<void> {
    this.emit('envelope', { direction: 'in', envelopeId: env.envelopeId, peer: env.from, bytes: env.body.length })
    const { view, again } = await this.#inbound.run(env.from, async () => {
      // redelivered after a crash between persisting and acking: its message key is spent
      const earlier = this.#storage.inboxByEnvelope(env.envelopeId)
      if (earlier) return { view: earlier, again: true }
      return this.#open(client, env, async (entry) => {
        // one redelivered after many others: memory no longer has it, and it failed to decrypt
        const older = entry.error ? await this.#storage.findByEnvelope(env.envelopeId) : undefined
        if (older) return { view: older, again: true }
        if (entry.error) this.#logger.warn({ envelopeId: env.envelopeId, from: env.from, error: entry.error }, 'could not decrypt envelope')
        return { view: await this.#storage.appendInbox(entry), again: false }
      })
    })
    // the message the sender was typing has arrived
    this.#typing.delete(env.from)
    if (!again) this.emit('message', view)
    // an undecryptable envelope gets no receipts, only the ack (else it comes back for ever)
    let owed: Promise<unknown> = Promise.resolve()
    if (!view.error) {
      owed = again
        ? this.#acknowledge(client, view).catch((err: unknown) => this.#logger.warn({ err, id: view.id }, 'phone receipts failed'))
        : this.#react(client, view, view.content as Content)
    }
    // The delivered receipt is already queued on this connection, and the network stores a
    // connection's requests in the order they arrive: the ack may follow it without waiting
    // for its answer (one write instead of two round trips). A read receipt sent at once
    // comes after that answer, so then the ack waits for it.
    if (this.#profile.autoReadDelayMs === 0) await owed
    await Promise.all([owed, client.request({ t: 'envelope.ack', envelopeIds: [env.envelopeId] })])
  }

  /**
   * Decrypts an envelope into an inbox entry and has `keep` store it; only then is the ratchet
   * step stored, so a phone killed in between gets the envelope again and can still read it.
   * Failures become entries too, so a bad envelope is acked, not retried forever.
   */
  async #open<T>(client: NetworkClient, env: EnvelopePush, keep: (entry: InboxEntry) => Promise<T>): Promise<T> {
    const base = { envelopeId: env.envelopeId, from: env.from, receivedAt: this.#clock.now() }
    let keeping = false
    try {
      return await this.#signal.decryptAndKeep(env.from, env.kind, env.body, async (decrypted) => {
        const content = decodeContent(decrypted.plaintext)
        keeping = true
        const entry: InboxEntry = { ...base, id: content.id, content, ...(decrypted.identityChanged ? { identityChanged: decrypted.identityChanged } : {}) }
        await this.#fetchMedia(client, entry, content)
        return keep(entry)
      })
    } catch (err) {
      if (keeping) throw err
      return keep({ ...base, id: env.envelopeId, error: `decrypt failed: ${(err as Error).message}` })
    }
  }

  async #fetchMedia(client: NetworkClient, entry: InboxEntry, content: Content): Promise<void> {
    const media = mediaOf(content)
    if (!media) return
    try {
      const bytes = decryptMedia(await client.downloadBlob(media.blobId), media)
      await mkdir(join(this.dir, 'media'), { recursive: true })
      entry.mediaFile = join('media', encodeURIComponent(content.id))
      await writeFileAtomic(join(this.dir, entry.mediaFile), bytes)
    } catch (err) {
      entry.mediaError = (err as Error).message
    }
  }

  /** Delivery receipt, scheduled read, scripted reply. Failures are logged: the message is already safe. */
  async #react(client: NetworkClient, entry: InboxView, content: Content): Promise<void> {
    try {
      if (!(await this.#acknowledge(client, entry))) return
      const reply = scriptedReply(this.#profile.script, content)
      if (reply !== undefined) await this.send({ to: entry.from, type: 'text', text: reply, replyTo: entry.id })
    } catch (err) {
      this.#logger.warn({ err, id: entry.id }, 'phone behaviour failed')
    }
  }

  /**
   * The receipts a message is owed: delivered, and read when the profile reads automatically.
   * Sent again for a message redelivered after a crash (the sender ignores a repeated receipt;
   * a missing one would leave the message "sent" for ever). False for a blocked sender.
   */
  async #acknowledge(client: NetworkClient, entry: InboxView): Promise<boolean> {
    const profile = this.#profile
    if (profile.blocked.includes(entry.from)) return false
    if (profile.autoDeliver) await client.request({ t: 'receipt.send', to: entry.from, kind: 'delivered', envelopeIds: [entry.envelopeId] })
    if (entry.readAt !== undefined || profile.autoReadDelayMs === null) return true
    if (profile.autoReadDelayMs === 0) await this.markRead([entry.id])
    else this.#scheduleRead(entry.id, profile.autoReadDelayMs)
    return true
  }

  #scheduleRead(id: string, delayMs: number): void {
    const cancel = this.#scheduler.after(delayMs, () => {
      this.#pendingReads.delete(cancel)
      if (!this.#client) return
      this.markRead([id]).catch((err: unknown) => this.#logger.warn({ err, id }, 'auto-read failed'))
    })
    this.#pendingReads.add(cancel)
  }

  async #onReceipt(client: NetworkClient, receipt: ReceiptPush): Promise<void> {
    if (!this.#storage.hasReceipt(receipt.receiptId)) {
      const { receiptId, from, kind, envelopeIds, timestamp } = receipt
      const event = { type: 'receipt' as const, receiptId, from, kind, envelopeIds, timestamp }
      await this.#storage.appendStatus(event)
      this.emit('receipt', event)
    }
    await client.request({ t: 'receipt.ack', receiptIds: [receipt.receiptId] })
  }

  #onTyping(push: TypingPush): void {
    if (this.#profile.blocked.includes(push.from)) return
    this.#typing.set(push.from, this.#clock.now() + TYPING_MS)
    this.emit('typing', push.from)
  }

  async #onFailed(failed: EnvelopeFailedPush): Promise<void> {
    const { envelopeId, error } = failed
    await this.#storage.appendStatus({ type: 'failed', envelopeId, code: error.code, message: error.message, at: this.#clock.now() })
    this.emit('failed', failed)
  }
}

/** The text a reply script answers `content` with, if any. Reactions get no reply. */
export function scriptedReply(script: ReplyScript, content: Content): string | undefined {
  if (script.mode === 'none' || content.type === 'reaction') return undefined
  if (script.mode === 'fixed') return script.text
  return content.type === 'text' ? content.text.body : `echo: ${content.type}`
}
