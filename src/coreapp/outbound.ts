import { groupBy } from '../collections.js'
import { isBusinessInitiated, messageCategory, type ConversationCategory } from '../domain/conversations.js'
import type { ApplicationSettings } from '../domain/settings.js'
import type { OutboundContent } from '../domain/message/outbound.js'
import { resolveHsm, resolveTemplate, type HydratedTemplate, type TemplatePack } from '../domain/templates.js'
import { pendingVerdict } from '../domain/validity.js'
import { isTemplateType, windowAllows } from '../domain/window.js'
import { OnPremCode, WebhookCode } from '../errors/index.js'
import type { ContactStateRow } from '../store/contact-state.js'
import type { NewEnvelope, QueuedMessage, StoredEnvelope } from '../store/outbox.js'
import { emptySignalChanges, mergeSignalChanges } from '../store/signal-state.js'
import type { Store } from '../store/store.js'
import { WireRequestError, type NetworkClient } from '../wire/client.js'
import { encodeContent } from '../wire/content-codec.js'
import type { ContactsCheckResult, EnvelopeSendResult, PreKeyBundleWire } from '../wire/frames.js'
import { CoalescedPass } from './coalesced-pass.js'
import type { SharedWrite } from './commit-queue.js'
import type { EngineContext } from './context.js'
import { failure, failureOfWireError, identityNotAcknowledged, notOnWhatsApp, type Failure } from './failures.js'
import type { EngineView, IdentityNotice } from './engine-view.js'
import { MediaFailure } from './media-resolver.js'
import { buildContent, isMediaMessage, mediaObjectOf, type ResolvedParts } from './payload.js'
import { OutboxCursor } from './outbox-cursor.js'
import { RecipientUnits, type UnitSignals } from './recipient-units.js'
import { OverlaySignalStore } from './signal-store.js'
import { applyStatuses, type StatusUpdate } from './statuses.js'

/** The sessions and ciphertexts of every recipient in one transaction: one upsert and one insert. */
class EnvelopeWrites implements SharedWrite {
  readonly changes = emptySignalChanges()
  readonly envelopes: NewEnvelope[] = []

  constructor(private readonly phoneNumberId: string) {}

  async flush(tx: Store): Promise<void> {
    await tx.signal.apply(this.phoneNumberId, this.changes)
    await tx.outbox.saveEnvelopes(this.envelopes)
  }
}

interface BatchContext {
  now: number
  settings: ApplicationSettings
  contacts: Map<string, ContactStateRow>
  /** Recipients without an open window that have no WhatsApp account; undefined: the network could not say. */
  notOnWhatsApp: Set<string> | undefined
  pack?: Promise<TemplatePack>
}

/** Recipients per `contacts.check` request; the network takes lists of up to 1000. */
const CHECK_CHUNK = 500

type Prepared = { ok: true; content: Uint8Array; category: ConversationCategory; templateId?: string } | { ok: false; failure: Failure } | { ok: 'retry' }

/**
 * The outbound pipeline of one number: claims queued messages of the shards this process
 * holds, applies the rules, encrypts per recipient in order, stores ciphertext + session in one
 * transaction, then hands the envelopes to the network. A stored ciphertext is resent as is.
 */
export class OutboundPipeline {
  readonly #ctx: EngineContext
  readonly #engine: EngineView
  readonly #inflight = new Map<string, number>()
  readonly #attempts = new Map<string, number>()
  /** Template of a message about to be sent: the network rates templates by their messages. */
  readonly #templateIds = new Map<string, string>()
  readonly #units: RecipientUnits
  readonly #cursor: OutboxCursor
  /** Connected shards at the last claim; the cursor only holds for that set. */
  #claimedShards = ''
  readonly #passes: CoalescedPass

  constructor(ctx: EngineContext, engine: EngineView) {
    this.#ctx = ctx
    this.#engine = engine
    this.#units = new RecipientUnits(engine.peers, ctx.tuning.peerConcurrency)
    this.#cursor = new OutboxCursor(ctx.store.outbox.claimsInCommitOrder)
    this.#passes = new CoalescedPass(() => this.#tick(), (err) => ctx.logger.error({ err, phoneNumberId: engine.phoneNumberId }, 'outbound pass failed'))
  }

  /** Runs a claim pass now (coalesced with one already running). */
  wake(): void {
    this.#passes.wake()
  }

  /** Shard ownership changed: claim from the start again (the in-flight map skips what is under way). */
  rewind(): void {
    this.#cursor.lower(0)
  }

  /** Before an idle poll's pass (see OutboxCursor.beforePoll). */
  rewindForPoll(): void {
    this.#cursor.beforePoll()
  }

  /** No new passes; waits for the one under way and for units that outlived theirs. */
  async stop(): Promise<void> {
    await this.#passes.stop()
    await this.#units.idle()
  }

  /** One claim + process pass; true if the claim was full (more may be waiting). */
  async #tick(): Promise<boolean> {
    const { store, tuning } = this.#ctx
    const shards = this.#engine.connectedShards()
    if (shards.length === 0 || this.#inflight.size >= tuning.maxInflight) return false
    // a shard that connected since the last pass may hold messages below the cursor
    const key = [...shards].sort((a, b) => a - b).join()
    if (key !== this.#claimedShards) {
      this.#claimedShards = key
      this.#cursor.lower(0)
    }
    this.#cursor.claiming()
    const rows = await store.outbox.claimQueued(this.#engine.phoneNumberId, shards, this.#cursor.value, tuning.claimBatch)
    this.#cursor.claimed(rows.reduce((max, r) => Math.max(max, r.seq), 0))
    const fresh: QueuedMessage[] = []
    for (const r of rows) {
      if (this.#inflight.has(r.id)) continue
      this.#inflight.set(r.id, r.shard)
      if (r.envelope) this.#send(r.id, r.peer, r.shard, r.envelope)
      else fresh.push(r)
    }
    if (fresh.length > 0) await this.#processFresh(fresh)
    return rows.length === tuning.claimBatch
  }

  async #processFresh(rows: QueuedMessage[]): Promise<void> {
    const engine = this.#engine
    const peers = [...new Set(rows.map((r) => r.peer))]
    const now = this.#ctx.clock.now()
    let batch: BatchContext
    try {
      const contacts = await this.#ctx.store.contactState.get(engine.phoneNumberId, peers)
      // a closed window is only the reason when the recipient is on WhatsApp at all (1013 comes first)
      const closed = new Set(rows.filter((r) => !windowAllows(r.type, contacts.get(r.peer)?.lastInboundAt, now)).map((r) => r.peer))
      batch = { now, settings: await engine.refreshSettings(), contacts, notOnWhatsApp: await this.#notOnWhatsApp([...closed]) }
      await engine.cache.prefetch(peers)
    } catch (err) {
      // the database failed before any recipient's unit began: give the messages back, or they
      // would stay in flight, skipped by every later claim until a restart
      for (const r of rows) this.#release(r.id, r.seq)
      throw err
    }
    const groups = [...groupBy(rows, (r) => r.peer).values()]
    await this.#units.run(groups, (r) => r.peer, (group, signals) => this.#processPeer(group, batch, signals).catch((err: unknown) => {
      // nothing of this recipient's unit was stored: give its messages back instead of holding them forever
      this.#ctx.logger.error({ err, peer: group[0]!.peer }, 'encrypting messages failed')
      for (const r of group) this.#release(r.id, r.seq)
    }))
  }

  /** Encrypts one recipient's messages in order and commits them with the session in one transaction. */
  async #processPeer(rows: QueuedMessage[], batch: BatchContext, signals: UnitSignals): Promise<void> {
    const engine = this.#engine
    const peer = rows[0]!.peer
    const overlay = new OverlaySignalStore(engine.cache)
    const account = await engine.openAccount(overlay)
    const envelopes: (NewEnvelope & { shard: number })[] = []
    const failures: StatusUpdate[] = []
    const retries: string[] = []
    let notice: IdentityNotice | undefined
    let unregistered = false
    for (const row of rows) {
      const prepared: Prepared = unregistered
        ? { ok: false, failure: notOnWhatsApp() }
        : await this.#prepare(row, batch, notice, signals.wait).catch((err: unknown) => ({ ok: false, failure: this.#poison(row.id, 'the message could not be prepared', err) }))
      if (prepared.ok === 'retry') {
        retries.push(row.id)
        continue
      }
      if (!prepared.ok) {
        failures.push({ messageId: row.id, status: 'failed', at: batch.now, failure: prepared.failure })
        continue
      }
      const conn = engine.connection(row.shard)
      if (!conn) {
        retries.push(row.id)
        continue
      }
      const bundles = (waId: string) => conn.client.request<PreKeyBundleWire>({ t: 'keys.get', waId })
      try {
        const encrypted = await account.encrypt(peer, prepared.content, bundles)
        if (encrypted.identityChanged) notice = await engine.identityNotice(peer, encrypted.identityChanged.hash, batch.settings)
        if (notice?.blocking) {
          // the ratchet step stays committed; the message waits for the new identity to be acknowledged
          failures.push({ messageId: row.id, status: 'failed', at: batch.now, failure: identityNotAcknowledged(peer) })
          continue
        }
        envelopes.push({
          messageId: row.id, phoneNumberId: engine.phoneNumberId, peer, shard: row.shard, kind: encrypted.kind, body: encrypted.body,
          category: prepared.category, businessInitiated: isBusinessInitiated(prepared.category),
        })
        if (prepared.templateId) this.#templateIds.set(row.id, prepared.templateId)
      } catch (err) {
        let verdict = err instanceof WireRequestError ? failureOfWireError(err.code, err.message) : 'retry'
        // retried a few times (a database or network hiccup passes), then this message alone fails
        if (verdict === 'retry' && this.#attempt(row.id) >= this.#ctx.tuning.maxSendAttempts) verdict = this.#poison(row.id, 'the message could not be encrypted', err)
        if (verdict === 'retry') {
          this.#ctx.logger.warn({ err, messageId: row.id }, 'encryption postponed')
          retries.push(row.id)
        } else {
          if (verdict.code === OnPremCode.USER_NOT_VALID) unregistered = true
          failures.push({ messageId: row.id, status: 'failed', at: batch.now, failure: verdict })
        }
      }
    }

    let callbacks = 0
    try {
      // the transaction holds up every other writer: the session records are sealed before it
      this.#ctx.store.signal.sealAhead(overlay.changes)
      const committed = this.#ctx.queue.submit(async (tx, batch) => {
        await engine.fence(tx, batch, rows[0]!.shard)
        const shared = batch.shared(`envelopes:${engine.phoneNumberId}`, () => new EnvelopeWrites(engine.phoneNumberId))
        mergeSignalChanges(shared.changes, overlay.changes)
        shared.envelopes.push(...envelopes)
        await engine.writeNewIdentities(tx, overlay.changes, notice ? peer : undefined)
        if (notice) await engine.writeIdentityNotice(tx, peer, notice)
        callbacks = (await applyStatuses(tx, failures)) + (notice?.event ? 1 : 0)
      })
      signals.encrypted()
      await committed
    } catch (err) {
      // nothing of this unit is durable and the cache still holds the committed state: start over later
      this.#ctx.logger.error({ err, peer }, 'storing encrypted messages failed')
      for (const r of rows) this.#release(r.id, r.seq)
      return
    }
    engine.cache.apply(overlay.changes)
    if (callbacks > 0) this.#ctx.notifyCallbacks()
    for (const f of failures) {
      this.#inflight.delete(f.messageId)
      this.#attempts.delete(f.messageId)
    }
    for (const id of retries) this.#release(id, rows.find((r) => r.id === id)!.seq)
    for (const e of envelopes) this.#send(e.messageId, e.peer, e.shard, e)
  }

  async #prepare(row: QueuedMessage, batch: BatchContext, notice: IdentityNotice | undefined, wait: () => void): Promise<Prepared> {
    const engine = this.#engine
    let msg: OutboundContent
    try {
      msg = this.#ctx.store.outbox.openContent<OutboundContent>(row.content)
    } catch (err) {
      return { ok: false, failure: this.#poison(row.id, 'the stored message could not be read', err) }
    }
    const contact = batch.contacts.get(row.peer)
    const verdict = pendingVerdict(row.createdAt, row.expiresAt, batch.now)
    if (verdict === WebhookCode.MESSAGE_EXPIRED) return { ok: false, failure: failure(verdict, 'the message expired before it could be sent') }
    if (verdict === WebhookCode.MESSAGE_NOT_VALID) return { ok: false, failure: failure(verdict, 'the message was pending for more than a day before it could be sent') }
    if (!windowAllows(row.type, contact?.lastInboundAt, batch.now)) {
      if (!batch.notOnWhatsApp) return { ok: 'retry' }
      if (batch.notOnWhatsApp.has(row.peer)) return { ok: false, failure: notOnWhatsApp() }
      return { ok: false, failure: failure(WebhookCode.REENGAGEMENT_MESSAGE, 'more than 24 hours have passed since the customer last replied; use a template') }
    }
    const unacknowledged = notice?.blocking || (contact?.identityHash && !contact.identityAcknowledged)
    if (batch.settings.show_security_notifications && unacknowledged) {
      return { ok: false, failure: identityNotAcknowledged(row.peer) }
    }
    const conn = engine.connection(row.shard)
    if (!conn) return { ok: 'retry' }
    const parts: ResolvedParts = {}
    let template: HydratedTemplate | undefined
    try {
      if (isTemplateType(msg.type)) {
        const resolved = await this.#template(msg, batch, conn.client)
        if (!resolved.ok) return { ok: false, failure: failure(resolved.code, resolved.details) }
        template = resolved.template
        parts.template = template
        const header = template.header?.media
        if (header) parts.headerMedia = await this.#ctx.mediaResolver.resolve(engine.phoneNumberId, header.object, conn.client, { kind: header.type, onWait: wait })
      }
      if (isMediaMessage(msg)) parts.media = await this.#ctx.mediaResolver.resolve(engine.phoneNumberId, mediaObjectOf(msg), conn.client, { kind: msg.type, onWait: wait })
    } catch (err) {
      if (err instanceof MediaFailure) return { ok: false, failure: err.failure }
      if (err instanceof WireRequestError && err.code !== 'internal' && err.code !== 'unauthorized') {
        return { ok: false, failure: failure(isTemplateType(msg.type) ? OnPremCode.TEMPLATE_FETCH_FAILED : WebhookCode.GENERIC, err.message) }
      }
      this.#ctx.logger.warn({ err, messageId: row.id }, 'preparing a message failed, will retry')
      return { ok: 'retry' }
    }
    let content: Uint8Array
    try {
      content = encodeContent(buildContent(msg, { id: row.id, sentAt: batch.now, profileName: engine.displayName() }, parts))
    } catch (err) {
      return { ok: false, failure: this.#poison(row.id, 'the message could not be encoded', err) }
    }
    return { ok: true, content, category: template ? messageCategory(template.category) : 'service', ...(template?.id ? { templateId: template.id } : {}) }
  }

  /** Which of `peers` have no WhatsApp account, asked of the network in one request per chunk. */
  async #notOnWhatsApp(peers: string[]): Promise<Set<string> | undefined> {
    const out = new Set<string>()
    if (peers.length === 0) return out
    const client = this.#engine.anyClient()
    if (!client) return undefined
    try {
      for (let i = 0; i < peers.length; i += CHECK_CHUNK) {
        const { results } = await client.request<ContactsCheckResult>({ t: 'contacts.check', phones: peers.slice(i, i + CHECK_CHUNK) })
        for (const r of results) if (!r.waId) out.add(r.phone)
      }
      return out
    } catch (err) {
      this.#ctx.logger.warn({ err }, 'could not check recipients outside the window, will retry')
      return undefined
    }
  }

  async #template(msg: OutboundContent, batch: BatchContext, client: NetworkClient) {
    const resolve = (pack: TemplatePack) =>
      msg.type === 'template' ? resolveTemplate(pack, msg.template) : msg.type === 'hsm' ? resolveHsm(pack, msg.hsm) : undefined
    batch.pack ??= this.#engine.templatePack(client)
    let result = resolve(await batch.pack)!
    // a template created a moment ago: look again once before failing
    if (!result.ok && result.code === 2001 && this.#engine.templatePackAge() > 1000) {
      batch.pack = this.#engine.templatePack(client, true)
      result = resolve(await batch.pack)!
    }
    return result
  }

  /** Hands an envelope to the network; the server's ack makes the message `sent`. */
  #send(id: string, peer: string, shard: number, envelope: StoredEnvelope): void {
    const conn = this.#engine.connection(shard)
    if (!conn) return this.#release(id)
    const templateId = this.#templateIds.get(id)
    this.#templateIds.delete(id)
    conn.client.request<EnvelopeSendResult>({
      t: 'envelope.send', envelopeId: id, to: peer, kind: envelope.kind, body: envelope.body,
      ...(envelope.category ? { category: envelope.category as ConversationCategory } : {}),
      businessInitiated: envelope.businessInitiated,
      ...(templateId ? { templateId } : {}),
    }).then(
      // status times are this process's clock, like every other status it records
      (result) => this.#settle(id, { messageId: id, status: 'sent', at: this.#ctx.clock.now(), userId: result.toUserId }),
      (err: unknown) => {
        const verdict = err instanceof WireRequestError ? failureOfWireError(err.code, err.message) : 'retry'
        const attempts = verdict === 'retry' ? this.#attempt(id) : 0
        if (verdict === 'retry' && attempts < this.#ctx.tuning.maxSendAttempts) {
          this.#ctx.logger.debug({ err, messageId: id }, 'send postponed')
          return this.#release(id)
        }
        const f = verdict === 'retry' ? failure(WebhookCode.GENERIC, `sending failed ${attempts} times: ${(err as Error).message}`) : verdict
        // a refusal of this envelope itself, or a send that never got through, is loud: nothing else says why
        if (f.code === WebhookCode.GENERIC) this.#ctx.logger.warn({ err, messageId: id, details: f.details }, 'a message could not be sent; it failed')
        this.#settle(id, { messageId: id, status: 'failed', at: this.#ctx.clock.now(), failure: f })
      },
    )
  }

  /** Counts one more failed attempt at `id`; returns the count. */
  #attempt(id: string): number {
    const attempts = (this.#attempts.get(id) ?? 0) + 1
    this.#attempts.set(id, attempts)
    return attempts
  }

  /** A failure that belongs to this message alone (poison message): logged, and it fails with the generic code. */
  #poison(messageId: string, what: string, err: unknown): Failure {
    this.#ctx.logger.warn({ err, messageId }, `${what}; it failed`)
    return failure(WebhookCode.GENERIC, `${what}: ${err instanceof Error ? err.message : String(err)}`)
  }

  #settle(id: string, update: StatusUpdate): void {
    this.#ctx.statuses.add([update]).then(
      () => {
        this.#inflight.delete(id)
        this.#attempts.delete(id)
      },
      (err: unknown) => {
        this.#ctx.logger.error({ err, messageId: id }, 'recording a status failed')
        this.#release(id)
      },
    )
  }

  /** Gives a message back to the queue: the next pass claims it again (and resends its stored ciphertext). */
  #release(id: string, seq?: number): void {
    this.#inflight.delete(id)
    this.#cursor.lower(seq === undefined ? 0 : seq - 1)
  }
}
