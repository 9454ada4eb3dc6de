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

/**
 * A phone's messages as its logs replay them: received ones in arrival order, sent ones with
 * the status their receipts gave them. With a `keep` limit only the newest `keep` of each stay
 * (and the newest receipt ids, for telling a redelivered receipt from a new one); the counts
 * always cover everything, and the logs on disk hold the rest.
 */
export class PhoneMessages {
  readonly keep: number
  readonly #inbox: InboxView[] = []
  readonly #inboxById = new Map<string, InboxView>()
  readonly #byEnvelope = new Map<string, InboxView>()
  readonly #outbox = new Map<string, OutboxView>()
  readonly #receipts = new Set<string>()
  #received = 0
  #unread = 0
  #sent = 0

  constructor(keep = Infinity) {
    this.keep = keep
  }

  /** Received messages, and those not read yet (failed ones are never unread). */
  get counts(): { total: number; unread: number } {
    return { total: this.#received, unread: this.#unread }
  }

  /** Whether memory holds every received message (the limit was not reached). */
  get inboxComplete(): boolean {
    return this.#received === this.#inbox.length
  }

  get outboxComplete(): boolean {
    return this.#sent === this.#outbox.size
  }

  get inbox(): readonly InboxView[] {
    return this.#inbox
  }

  get outbox(): Iterable<OutboxView> {
    return this.#outbox.values()
  }

  inboxEntry(id: string): InboxView | undefined {
    return this.#inboxById.get(id)
  }

  byEnvelope(envelopeId: string): InboxView | undefined {
    return this.#byEnvelope.get(envelopeId)
  }

  outboxEntry(envelopeId: string): OutboxView | undefined {
    return this.#outbox.get(envelopeId)
  }

  hasReceipt(receiptId: string): boolean {
    return this.#receipts.has(receiptId)
  }

  addInbox(entry: InboxEntry & { readAt?: number }): InboxView {
    const view = { ...entry }
    this.#inbox.push(view)
    this.#byEnvelope.set(view.envelopeId, view)
    if (!view.error) this.#inboxById.set(view.id, view)
    this.#received++
    if (!view.error && view.readAt === undefined) this.#unread++
    if (this.#inbox.length > this.keep) this.#forget(this.#inbox.shift()!)
    return view
  }

  addOutbox(entry: OutboxEntry | OutboxView): void {
    this.#outbox.set(entry.envelopeId, 'status' in entry ? { ...entry } : { ...entry, status: 'sent' })
    this.#sent++
    if (this.#outbox.size > this.keep) this.#outbox.delete(this.#outbox.keys().next().value!)
  }

  /**
   * `read` events name messages that were unread when the phone marked them, so they count
   * down the unread ones even when the message itself is no longer in memory.
   */
  applyStatus(event: StatusEvent): void {
    switch (event.type) {
      case 'read':
        for (const id of event.ids) {
          const entry = this.#inboxById.get(id)
          if (entry ? entry.readAt !== undefined : this.inboxComplete) continue
          if (entry) entry.readAt = event.at
          this.#unread = Math.max(0, this.#unread - 1)
        }
        return
      case 'failed': {
        const entry = this.#outbox.get(event.envelopeId)
        if (entry) Object.assign(entry, { status: 'failed', error: { code: event.code, message: event.message } })
        return
      }
      case 'receipt':
        this.#receipts.add(event.receiptId)
        // a redelivered receipt older than these is recorded again, which changes no status
        if (this.#receipts.size > RECEIPTS_PER_KEPT * this.keep) this.#receipts.delete(this.#receipts.values().next().value!)
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

  /** The newest `keep` of everything replayed here, with the counts of all of it. */
  newest(keep: number): PhoneMessages {
    const kept = new PhoneMessages(keep)
    for (const view of this.#inbox.slice(-keep)) kept.addInbox(view)
    for (const view of [...this.#outbox.values()].slice(-keep)) kept.addOutbox(view)
    for (const id of [...this.#receipts].slice(-RECEIPTS_PER_KEPT * keep)) kept.#receipts.add(id)
    kept.#received = this.#received
    kept.#unread = this.#unread
    kept.#sent = this.#sent
    return kept
  }

  #forget(view: InboxView): void {
    if (this.#byEnvelope.get(view.envelopeId) === view) this.#byEnvelope.delete(view.envelopeId)
    if (this.#inboxById.get(view.id) === view) this.#inboxById.delete(view.id)
  }
}

// a sent message gets up to two receipts (delivered, read), sometimes one for both
const RECEIPTS_PER_KEPT = 4
