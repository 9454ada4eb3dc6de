import { randomBytes } from 'node:crypto'
import { groupBy } from '../collections.js'
import { CONVERSATION_MS, conversationObject, pricingObject } from '../domain/conversations.js'
import type { StatusEvent } from '../domain/events.js'
import { sendsSentStatus } from '../domain/settings.js'
import type { ConversationRow } from '../store/coreapp-schema.js'
import type { ChangedMessage, OutboundStatus } from '../store/outbox.js'
import type { Store } from '../store/store.js'
import type { CommitQueue } from './commit-queue.js'
import { webhookErrorOf, type Failure } from './failures.js'

export type StatusUpdate =
  /** `userId`: the recipient's business-scoped user id, as the network named it. */
  | { messageId: string; status: OutboundStatus; at: number; userId?: string }
  | { messageId: string; status: 'failed'; at: number; failure: Failure }

type Status = StatusEvent['status']

/**
 * Writes a batch of status changes in the caller's transaction: forward-only transitions,
 * history rows, conversations (opened by the first delivered message per user and category)
 * and one callback per change. Returns how many callbacks were enqueued.
 */
export async function applyStatuses(tx: Store, updates: StatusUpdate[]): Promise<number> {
  if (updates.length === 0) return 0
  const events = new Map<string, StatusEvent[]>()
  const emit = (phoneNumberId: string, event: StatusEvent) => {
    const list = events.get(phoneNumberId)
    if (list) list.push(event)
    else events.set(phoneNumberId, [event])
  }

  const at = (list: StatusUpdate[]) => new Map(list.map((u) => [u.messageId, u.at]))
  const userIds = new Map(updates.flatMap((u) => (u.status !== 'failed' && u.userId ? [[u.messageId, u.userId] as const] : [])))
  const of = (s: StatusUpdate['status']) => updates.filter((u) => u.status === s)
  const sent = of('sent')
  const read = of('read')
  // a read receipt implies delivery: a message read before its delivery receipt is delivered too
  const delivered = [...of('delivered'), ...read.map((u) => ({ ...u, status: 'delivered' as const }))]

  for (const [status, list] of [['sent', sent], ['delivered', delivered], ['read', read]] as const) {
    if (list.length === 0) continue
    const times = at(list)
    const changed = await tx.outbox.transitionRecorded(times, status)
    if (changed.length === 0) continue
    const sentStatus = status === 'sent' ? await sentStatusSetting(tx, changed) : undefined
    const wanted = sentStatus ? changed.filter((m) => sentStatus.get(m.phoneNumberId)) : changed
    if (wanted.length === 0) continue
    const conversations = await conversationsFor(tx, status, wanted, times)
    for (const m of wanted) {
      const event = statusEvent(tx, m, status, times.get(m.id)!, userIds.get(m.id))
      const conversation = conversations.get(m.id)
      if (conversation) event.status.conversation = conversationObject({ id: conversation.id, category: conversation.category, expiresAt: conversation.expires_at })
      event.status.pricing = pricingObject(m.category ?? 'service')
      emit(m.phoneNumberId, event)
    }
  }

  for (const u of updates) {
    if (u.status !== 'failed') continue
    const error = webhookErrorOf(u.failure)
    const m = await tx.outbox.fail(u.messageId, [error], u.at)
    if (!m) continue
    await tx.outbox.recordStatuses([{ messageId: m.id, status: 'failed', at: u.at, error: JSON.stringify([error]) }])
    // like Meta: a failed send to a phone number names no user id, one to a user id names it
    const event = statusEvent(tx, m, 'failed', u.at, undefined)
    event.status.errors = [error]
    emit(m.phoneNumberId, event)
  }

  // the network holds (or refused) these messages now: their stored ciphertext is done with
  await tx.outbox.deleteEnvelopes([...new Set(updates.map((u) => u.messageId))])
  let count = 0
  for (const [phoneNumberId, list] of events) {
    await tx.callbacks.enqueueMany(phoneNumberId, list)
    count += list.length
  }
  return count
}

/** `userId`: the recipient's user id as the network named it; a send addressed to a user id names that one. */
function statusEvent(tx: Store, m: ChangedMessage, status: Status['status'], at: number, userId: string | undefined): StatusEvent {
  const event: StatusEvent = { type: 'status', status: { id: m.id, recipient_id: m.peer, status, timestamp: String(Math.floor(at / 1000)) } }
  if (m.callbackData) {
    const data = tx.outbox.openContent<{ biz_opaque_callback_data?: string; recipient?: string }>(m.callbackData)
    if (data.biz_opaque_callback_data !== undefined) event.status.biz_opaque_callback_data = data.biz_opaque_callback_data
    if (data.recipient !== undefined) event.by_user_id = true
    userId = data.recipient ?? userId
  }
  if (userId) event.user_id = userId
  return event
}

/** Whether each number of `changed` wants `sent` callbacks (domain/settings.ts). */
async function sentStatusSetting(tx: Store, changed: ChangedMessage[]): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>()
  for (const id of new Set(changed.map((m) => m.phoneNumberId))) {
    const row = await tx.numbers.get(id)
    out.set(id, row ? sendsSentStatus(row.platform_type, tx.numbers.settings(row)) : false)
  }
  return out
}

/**
 * The conversation each changed message belongs to. Delivery opens one (24 h) when the user
 * has none of that category open; `sent` shows an already open one; `read` its message's.
 */
async function conversationsFor(tx: Store, status: OutboundStatus, changed: ChangedMessage[], times: Map<string, number>): Promise<Map<string, ConversationRow>> {
  const out = new Map<string, ConversationRow>()
  if (status === 'read') {
    const rows = await tx.conversations.byIds(changed.flatMap((m) => (m.conversationId ? [m.conversationId] : [])))
    const byId = new Map(rows.map((r) => [r.id, r]))
    for (const m of changed) {
      const c = m.conversationId ? byId.get(m.conversationId) : undefined
      if (c) out.set(m.id, c)
    }
    return out
  }
  for (const [phoneNumberId, list] of groupBy(changed, (m) => m.phoneNumberId)) {
    let earliest = Infinity
    for (const m of list) earliest = Math.min(earliest, times.get(m.id)!)
    const open = new Map<string, ConversationRow>()
    for (const c of await tx.conversations.open(phoneNumberId, list.map((m) => m.peer), earliest)) open.set(`${c.wa_id}|${c.category}`, c)
    const created: ConversationRow[] = []
    const links: { messageId: string; conversationId: string }[] = []
    for (const m of list) {
      const at = times.get(m.id)!
      const key = `${m.peer}|${m.category ?? 'service'}`
      let c = open.get(key)
      if (c && c.expires_at <= at) c = undefined
      if (!c && status === 'delivered') {
        c = { id: randomBytes(16).toString('hex'), phone_number_id: phoneNumberId, wa_id: m.peer, category: m.category ?? 'service', opened_at: at, expires_at: at + CONVERSATION_MS }
        open.set(key, c)
        created.push(c)
      }
      if (!c) continue
      out.set(m.id, c)
      if (status === 'delivered' && !m.conversationId) links.push({ messageId: m.id, conversationId: c.id })
    }
    await tx.conversations.insert(created)
    await tx.outbox.setConversations(links)
  }
  return out
}

/** Status changes in one transaction at most: a backlog of thousands would hold the database (and the API behind it) for hundreds of ms. */
const MAX_UPDATES_PER_UNIT = 1024

interface PendingUpdates {
  updates: StatusUpdate[]
  resolve(): void
  reject(err: unknown): void
}

/**
 * Batches status changes into the commit queue: the changes that arrive while a transaction
 * runs are written by the next one, at most MAX_UPDATES_PER_UNIT at a time.
 */
export class StatusWriter {
  readonly #queue: CommitQueue
  readonly #onCallbacks: () => void
  #pending: PendingUpdates[] = []
  #scheduled = false

  constructor(queue: CommitQueue, onCallbacks: () => void) {
    this.#queue = queue
    this.#onCallbacks = onCallbacks
  }

  /** Resolves once `updates` are committed. */
  add(updates: StatusUpdate[]): Promise<void> {
    if (updates.length === 0) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ updates, resolve, reject })
      this.#schedule()
    })
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    // taken when the unit first runs (it may run again alone after its batch failed)
    let taken: PendingUpdates[] | null = null
    let count = 0
    this.#queue.submit(async (tx) => {
      if (!taken) {
        taken = this.#take()
        this.#scheduled = false
        if (this.#pending.length > 0) this.#schedule()
      }
      count = await applyStatuses(tx, taken.flatMap((p) => p.updates))
    }).then(
      () => {
        for (const p of taken!) p.resolve()
        if (count > 0) this.#onCallbacks()
      },
      (err: unknown) => {
        // a unit that never ran (its transaction did not begin) fails everything waiting, once
        if (!taken) {
          taken = this.#pending.splice(0)
          this.#scheduled = false
        }
        for (const p of taken) p.reject(err)
      },
    )
  }

  /** The first pending changes, at least one caller's, up to MAX_UPDATES_PER_UNIT. */
  #take(): PendingUpdates[] {
    let n = 0
    let size = 0
    while (n < this.#pending.length && (n === 0 || size + this.#pending[n]!.updates.length <= MAX_UPDATES_PER_UNIT)) size += this.#pending[n++]!.updates.length
    return this.#pending.splice(0, n)
  }
}
