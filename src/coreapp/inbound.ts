import { setTimeout as sleep } from 'node:timers/promises'
import type { InboundMessageEvent } from '../domain/events.js'
import type { ApplicationSettings, MediaKind } from '../domain/settings.js'
import { WebhookCode } from '../errors/index.js'
import { mediaId } from '../ids.js'
import { decryptMedia } from '../signal/media-crypto.js'
import { WireRequestError } from '../wire/client.js'
import type { Content } from '../wire/content.js'
import { decodeContent } from '../wire/content-codec.js'
import type { EnvelopeFailedPush, EnvelopePush, ReceiptPush } from '../wire/frames.js'
import type { EngineContext } from './context.js'
import { LeaseLost, type EngineView, type IdentityNotice } from './engine-view.js'
import { failure, failureOfWireError, webhookErrorOf } from './failures.js'
import { inboundMessage, type StoredMedia } from './inbound-event.js'
import type { ShardConnection } from './shard-connection.js'
import { OverlaySignalStore } from './signal-store.js'

const MEDIA_KINDS: ReadonlySet<string> = new Set(['image', 'video', 'audio', 'voice', 'document', 'sticker'])
const DOWNLOAD_ATTEMPTS = 3
const MAX_ATTEMPTS = 8
/** Receipt ids per `receipt.ack`; the wire takes lists of up to 1000. */
const ACK_CHUNK = 500

/**
 * The inbound pipeline of one number: an envelope is decrypted, persisted with its session
 * record, contact, window timestamp and callback in one transaction, and only then acked. A
 * redelivered envelope (crash between commit and ack) is recognised by its id and only acked.
 */
export class InboundPipeline {
  readonly #ctx: EngineContext
  readonly #engine: EngineView
  readonly #wakeReceipts: () => void
  /** Receipts recorded and not yet acked, per connection: acked together, one request per event-loop turn. */
  readonly #acks = new Map<ShardConnection, string[]>()

  constructor(ctx: EngineContext, engine: EngineView, wakeReceipts: () => void) {
    this.#ctx = ctx
    this.#engine = engine
    this.#wakeReceipts = wakeReceipts
  }

  envelope(conn: ShardConnection, env: EnvelopePush, attempt = 1): Promise<void> {
    return this.#engine.peers.run(env.from, () => this.#handle(conn, env)).catch((err: unknown) => {
      // nothing was committed and nothing acked: the session cache still holds the committed state,
      // so decrypting again later is safe. The network itself only redelivers after a login, so
      // retry while this connection is ours (a lost lease closes it, and the new owner's login
      // gets the envelope).
      const retry = attempt < MAX_ATTEMPTS && this.#engine.connection(conn.shard) === conn
      this.#ctx.logger[err instanceof LeaseLost ? 'warn' : 'error']({ err, envelopeId: env.envelopeId, from: env.from, attempt, retry }, 'inbound envelope not persisted')
      if (retry) setTimeout(() => void this.envelope(conn, env, attempt + 1), Math.min(5000, 200 * 2 ** attempt)).unref()
    })
  }

  /** Delivered / read receipts of the business's messages. */
  async receipt(conn: ShardConnection, receipt: ReceiptPush, attempt = 1): Promise<void> {
    const at = this.#ctx.clock.now()
    try {
      await this.#ctx.statuses.add(receipt.envelopeIds.map((messageId) => ({ messageId, status: receipt.kind, at, userId: receipt.fromUserId })))
      // acked only once the statuses are committed; a lost ack means a redelivery, which changes nothing
      this.#ack(conn, receipt.receiptId)
    } catch (err) {
      const retry = attempt < MAX_ATTEMPTS && this.#engine.connection(conn.shard) === conn
      this.#ctx.logger.warn({ err, receiptId: receipt.receiptId, attempt, retry }, 'receipt not recorded')
      if (retry) setTimeout(() => void this.receipt(conn, receipt, attempt + 1), Math.min(5000, 200 * 2 ** attempt)).unref()
    }
  }

  /** Under load one status commit records hundreds of receipts: one request acks them, not a frame each way per receipt. */
  #ack(conn: ShardConnection, receiptId: string): void {
    const pending = this.#acks.get(conn)
    if (pending) return void pending.push(receiptId)
    this.#acks.set(conn, [receiptId])
    setImmediate(() => {
      const ids = this.#acks.get(conn) ?? []
      this.#acks.delete(conn)
      for (let i = 0; i < ids.length; i += ACK_CHUNK) {
        conn.client.request({ t: 'receipt.ack', receiptIds: ids.slice(i, i + ACK_CHUNK) }).catch(() => undefined)
      }
    })
  }

  /** An envelope the network accepted earlier failed later (e.g. expired undelivered). */
  async envelopeFailed(failed: EnvelopeFailedPush): Promise<void> {
    const verdict = failureOfWireError(failed.error.code, failed.error.message)
    const f = verdict === 'retry' ? failure(WebhookCode.GENERIC, failed.error.message) : verdict
    await this.#ctx.statuses.add([{ messageId: failed.envelopeId, status: 'failed', at: this.#ctx.clock.now(), failure: f }])
  }

  async #handle(conn: ShardConnection, env: EnvelopePush): Promise<void> {
    const { store } = this.#ctx
    const engine = this.#engine
    if ((await store.inbound.seen(engine.phoneNumberId, [env.envelopeId])).size > 0) return conn.ack(env.envelopeId)
    const settings = await engine.refreshSettings()
    const overlay = new OverlaySignalStore(engine.cache)
    const account = await engine.openAccount(overlay)
    const timestamp = String(Math.floor(env.serverTimestamp / 1000))
    let content: Content | undefined
    let notice: IdentityNotice | undefined
    let message: InboundMessageEvent['message']
    let unreadable = 'the message could not be decrypted'
    try {
      const decrypted = await account.decrypt(env.from, env.kind, env.body)
      if (decrypted.identityChanged) notice = await engine.identityNotice(env.from, decrypted.identityChanged.hash, settings)
      unreadable = 'the message content is not valid'
      content = decodeContent(decrypted.plaintext)
    } catch (err) {
      // acked and reported, not retried forever: a message key that failed once fails again, and so does its content
      this.#ctx.logger.warn({ err, envelopeId: env.envelopeId, from: env.from }, 'could not read an inbound envelope')
    }
    if (content) {
      const media = await this.#media(conn, content, settings)
      message = inboundMessage(content, { from: env.from, timestamp, businessWaId: engine.waId, ...media })
    } else {
      message = { from: env.from, id: env.envelopeId, timestamp, type: 'unknown', errors: [webhookErrorOf(failure(WebhookCode.GENERIC, unreadable))] }
    }
    const profileName = content?.profileName ?? null
    const name = profileName ?? (await store.contactState.get(engine.phoneNumberId, [env.from])).get(env.from)?.profileName ?? env.from
    const event: InboundMessageEvent = { type: 'message', contact: { wa_id: env.from, profile: { name } }, message }
    if (env.fromUserId) event.user_id = env.fromUserId
    if (content && message.type === 'unknown') event.unsupported_type = content.type
    const now = this.#ctx.clock.now()
    const shard = engine.shardOf(env.from)

    store.signal.sealAhead(overlay.changes)
    await this.#ctx.queue.submit(async (tx, batch) => {
      await engine.fence(tx, batch, shard)
      await tx.signal.apply(engine.phoneNumberId, overlay.changes)
      await tx.inbound.persist([{
        phoneNumberId: engine.phoneNumberId, envelopeId: env.envelopeId, messageId: message.id, peer: env.from, shard,
        type: message.type, message, receivedAt: now,
      }])
      await tx.contactState.touchInbound(engine.phoneNumberId, [{ waId: env.from, profileName, at: now, userId: env.fromUserId }])
      await engine.writeNewIdentities(tx, overlay.changes, notice ? env.from : undefined)
      if (notice) await engine.writeIdentityNotice(tx, env.from, notice)
      await tx.callbacks.enqueue(engine.phoneNumberId, event)
      if (content) await tx.receipts.enqueue([{ phoneNumberId: engine.phoneNumberId, peer: env.from, shard, kind: 'delivered', envelopeId: env.envelopeId }])
    })
    engine.cache.apply(overlay.changes)
    conn.ack(env.envelopeId)
    this.#ctx.notifyCallbacks()
    this.#wakeReceipts()
  }

  /** Downloads media into the volume when `media.auto_download` names the type. */
  async #media(conn: ShardConnection, content: Content, settings: ApplicationSettings): Promise<{ media?: StoredMedia; mediaError?: string }> {
    if (!('media' in content) || !MEDIA_KINDS.has(content.type)) return {}
    const ref = content.media
    const notDownloaded = { id: mediaId(), mimeType: ref.mimeType, sha256: ref.sha256 }
    if (!settings.media.auto_download.includes(content.type as MediaKind)) return { media: notDownloaded }
    let lastError = ''
    for (let attempt = 1; attempt <= DOWNLOAD_ATTEMPTS; attempt++) {
      try {
        const bytes = decryptMedia(await conn.client.downloadBlob(ref.blobId), ref)
        const info = await this.#ctx.media.put(bytes, {
          phoneNumberId: this.#engine.phoneNumberId, mimeType: ref.mimeType, filename: ref.filename ?? null, direction: 'in', validate: false,
        })
        return { media: { id: info.id, mimeType: info.mimeType, sha256: info.sha256 } }
      } catch (err) {
        lastError = (err as Error).message
        // a missing blob or a bad key will not get better
        if (err instanceof WireRequestError && err.code === 'not_found') break
        if (!(err instanceof WireRequestError) && /sha256|auth|tag/i.test(lastError)) break
        if (attempt < DOWNLOAD_ATTEMPTS) await sleep(200 * attempt)
      }
    }
    this.#ctx.logger.warn({ blobId: ref.blobId, error: lastError }, 'inbound media could not be downloaded')
    return { media: notDownloaded, mediaError: lastError }
  }
}
