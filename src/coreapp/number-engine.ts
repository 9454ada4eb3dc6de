import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import type { ContactCheckResult } from '../domain/bridge.js'
import { CONTACT_CHECK_TTL_MS, normalizeContactInput } from '../domain/contact-input.js'
import type { ContactsEvent, InboundMessageEvent } from '../domain/events.js'
import { normalizePhone } from '../domain/phone-number.js'
import type { ApplicationSettings } from '../domain/settings.js'
import type { TemplatePack } from '../domain/templates.js'
import { messageId } from '../ids.js'
import { identityHash, SignalAccount } from '../signal/account.js'
import { KeyedQueue } from '../signal/keyed-queue.js'
import type { SignalStateStore } from '../signal/state-store.js'
import type { GatewayStatus } from '../store/phone-numbers.js'
import type { PhoneNumberRow } from '../store/schema.js'
import type { SignalChanges } from '../store/signal-state.js'
import type { Store } from '../store/store.js'
import type { NetworkClient } from '../wire/client.js'
import type { ContactsCheckResult, LoginResult } from '../wire/frames.js'
import { shardOf } from '../domain/shard.js'
import type { CommitBatch } from './commit-queue.js'
import type { EngineContext } from './context.js'
import { LeaseLost, type EngineView, type IdentityNotice } from './engine-view.js'
import { AccountUpdates } from './account-updates.js'
import { InboundPipeline } from './inbound.js'
import { noticeRefusedCredentials } from './number-ownership.js'
import { identityChangedMessage } from './inbound-event.js'
import { prepareKeys } from './keys.js'
import { OutboundPipeline } from './outbound.js'
import { ReceiptSender } from './receipts-sender.js'
import { ShardConnection, type ShardHandlers } from './shard-connection.js'
import { SignalCache } from './signal-store.js'

const CHECK_CHUNK = 500

/**
 * Everything one CoreApp process does for one registered number: a connection per shard it
 * holds, the outbound and inbound pipelines, receipts owed to phones, pre-key top-ups and
 * contact checks.
 */
export class NumberEngine implements EngineView {
  readonly phoneNumberId: string
  readonly cache: SignalCache
  readonly peers = new KeyedQueue()
  readonly outbound: OutboundPipeline
  readonly inbound: InboundPipeline
  readonly receipts: ReceiptSender
  readonly #ctx: EngineContext
  readonly #logger: Logger
  readonly #connections = new Map<number, ShardConnection>()
  readonly #retryTimers = new Set<NodeJS.Timeout>()
  readonly #accountUpdates: AccountUpdates
  #row: PhoneNumberRow
  #password: string
  #shardCount: number
  #settings: ApplicationSettings
  #settingsAt = performance.now()
  #gateway: GatewayStatus | undefined
  #gatewayWrite: Promise<void> = Promise.resolve()
  #poll: NodeJS.Timeout | undefined
  #toppingUp = false
  #checkingJobs = false
  #stopped = false

  constructor(ctx: EngineContext, row: PhoneNumberRow, password: string) {
    this.#ctx = ctx
    this.phoneNumberId = row.id
    this.#row = row
    this.#password = password
    this.#shardCount = row.shard_count
    this.#settings = ctx.store.numbers.settings(row)
    this.#logger = ctx.logger.child({ phoneNumberId: row.id })
    this.cache = new SignalCache(ctx.store, row.id)
    this.outbound = new OutboundPipeline(ctx, this)
    this.receipts = new ReceiptSender(ctx, this)
    this.inbound = new InboundPipeline(ctx, this, () => this.receipts.wake())
    this.#accountUpdates = new AccountUpdates(ctx, this, () => this.#row.platform_type === 'CLOUD_API')
    // a message that committed below the cursor (PostgreSQL, MySQL) waits a few polls, never forever
    this.#poll = setInterval(() => {
      this.outbound.rewindForPoll()
      this.wake()
    }, ctx.tuning.pollMs)
    this.#poll.unref()
  }

  get waId(): string {
    return this.#row.wa_id
  }

  get shardCount(): number {
    return this.#shardCount
  }

  /** Shards this engine holds a connection for. */
  get shards(): number[] {
    return [...this.#connections.keys()].sort((a, b) => a - b)
  }

  /**
   * Brings connections in line with the leases held and the number's current row. A changed
   * shard count or password restarts every connection; any ownership change (including a
   * lease re-taken after it lapsed, `fresh`) empties the session cache: another process may
   * have advanced those sessions.
   */
  async reconcile(row: PhoneNumberRow, password: string, owned: number[], fresh: ReadonlySet<number> = new Set()): Promise<void> {
    if (this.#stopped) return
    const restart = row.shard_count !== this.#shardCount || password !== this.#password
    this.#row = row
    this.#settings = this.#ctx.store.numbers.settings(row)
    this.#settingsAt = performance.now()
    this.#password = password
    this.#shardCount = row.shard_count
    const wanted = new Set(owned)
    const closing: Promise<void>[] = []
    for (const [shard, conn] of this.#connections) {
      // a lease taken anew (after it lapsed) may follow another owner's work: start that shard over
      if (restart || !wanted.has(shard) || fresh.has(shard)) {
        this.#connections.delete(shard)
        closing.push(conn.close())
      }
    }
    await Promise.all(closing)
    let gained = false
    for (const shard of owned) {
      if (this.#connections.has(shard)) continue
      this.#open(shard)
      gained = true
    }
    if (gained || closing.length > 0) {
      this.cache.clear()
      this.outbound.rewind()
    }
    await this.#updateGateway()
  }

  #open(shard: number): void {
    const conn = new ShardConnection(shard, this.#shardCount, this.#ctx, { waId: this.waId, password: this.#password }, this.#handlers)
    this.#connections.set(shard, conn)
    conn.start()
  }

  readonly #handlers: ShardHandlers = {
    envelope: (conn, env) => void this.inbound.envelope(conn, env),
    receipt: (conn, r) => void this.inbound.receipt(conn, r),
    keysLow: (conn) => void this.topUpKeys(conn.client),
    envelopeFailed: (_conn, f) => void this.inbound.envelopeFailed(f).catch((err: unknown) => this.#logger.error({ err }, 'recording a failed envelope failed')),
    accountUpdate: (conn, u) => void this.#accountUpdates.receive(conn, u),
    loggedIn: (conn, result: LoginResult) => {
      if (result.preKeysLeft < Math.max(10, this.#ctx.tuning.preKeys / 4)) void this.topUpKeys(conn.client)
      // the request names the number's WABA: the network serves the WABA's templates to it from now on
      if (conn.shard === 0) this.templatePack(conn.client, true).catch((err: unknown) => this.#logger.debug({ err }, 'reading the templates after login failed'))
    },
    state: (conn, lost) => {
      if (conn.connected) {
        this.outbound.rewind()
        this.wake()
      }
      if (lost && this.#connections.get(conn.shard) === conn) this.#replaceLater(conn)
      void this.#updateGateway()
    },
    refused: (conn, reason) => {
      void this.#updateGateway()
      // after a pause, so that a registration by this deployment has stored its new password
      this.#later(() => {
        if (this.#connections.get(conn.shard) !== conn) return
        noticeRefusedCredentials(this.#ctx, this.phoneNumberId, this.#password, reason)
          .catch((err: unknown) => this.#logger.error({ err }, 'checking the refused credentials failed'))
      })
    },
  }

  /** A connection that gave up (login refused, taken over) is tried again after a pause while we hold the lease. */
  #replaceLater(conn: ShardConnection): void {
    this.#later(() => {
      if (this.#connections.get(conn.shard) !== conn) return
      this.#connections.delete(conn.shard)
      void conn.close().then(() => {
        if (!this.#stopped && !this.#connections.has(conn.shard)) this.#open(conn.shard)
      })
    })
  }

  /** Runs `fn` after the reconnect pause unless the engine stopped meanwhile. */
  #later(fn: () => void): void {
    const timer = setTimeout(() => {
      this.#retryTimers.delete(timer)
      if (!this.#stopped) fn()
    }, this.#ctx.tuning.reconnectMs)
    timer.unref()
    this.#retryTimers.add(timer)
  }

  wake(): void {
    if (this.#stopped) return
    this.outbound.wake()
    this.receipts.wake()
    void this.#runCheckJobs()
  }

  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    clearInterval(this.#poll)
    for (const t of this.#retryTimers) clearTimeout(t)
    await Promise.all([this.outbound.stop(), this.receipts.stop()])
    await Promise.all([...this.#connections.values()].map((c) => c.close()))
    this.#connections.clear()
    await this.#gatewayWrite
  }

  #updateGateway(): Promise<void> {
    const states = [...this.#connections.values()].map((c) => c.state)
    if (states.length === 0 || this.#stopped) return this.#gatewayWrite
    const status: GatewayStatus = states.every((s) => s === 'connected') ? 'connected' : states.some((s) => s !== 'disconnected') ? 'connecting' : 'disconnected'
    if (status === this.#gateway) return this.#gatewayWrite
    this.#gateway = status
    // writes run one at a time and store the newest status, so a slow earlier write never lands last
    this.#gatewayWrite = this.#gatewayWrite.then(async () => {
      const writing = this.#gateway
      if (this.#stopped || !writing) return
      await this.#ctx.store.numbers.setGatewayStatus(this.phoneNumberId, writing, this.#ctx.ownerId).catch((err: unknown) => {
        this.#logger.warn({ err }, 'could not store the gateway status')
        // not stored: the next reconcile writes it again instead of taking it as known
        if (this.#gateway === writing) this.#gateway = undefined
      })
    })
    return this.#gatewayWrite
  }

  // ---- EngineView ----

  async refreshSettings(): Promise<ApplicationSettings> {
    if (performance.now() - this.#settingsAt < this.#ctx.tuning.settingsMaxAgeMs) return this.#settings
    const row = await this.#ctx.store.numbers.get(this.phoneNumberId)
    if (row) {
      this.#row = row
      this.#settings = this.#ctx.store.numbers.settings(row)
      this.#settingsAt = performance.now()
    }
    return this.#settings
  }

  displayName(): string {
    return this.#row.display_name
  }

  connection(shard: number): ShardConnection | undefined {
    return this.#connections.get(shard)
  }

  connectedShards(): number[] {
    return [...this.#connections.values()].filter((c) => c.connected).map((c) => c.shard)
  }

  /** A logged-in connection for requests that are not about one recipient (templates, contacts). */
  anyClient(): NetworkClient | undefined {
    const conns = [...this.#connections.values()]
    return (conns.find((c) => c.connected) ?? conns[0])?.client
  }

  shardOf(peer: string): number {
    return shardOf(peer, this.#shardCount)
  }

  fence(tx: Store, batch: CommitBatch, shard: number): Promise<void> {
    return batch.once(`fence:${this.phoneNumberId}:${shard}`, async () => {
      if (!(await tx.shardLeases.holds(this.phoneNumberId, shard, this.#ctx.ownerId))) {
        throw new LeaseLost(`shard ${shard} of ${this.phoneNumberId} is no longer held by ${this.#ctx.ownerId}`)
      }
    })
  }

  openAccount(store: SignalStateStore): Promise<SignalAccount> {
    return SignalAccount.open({ waId: this.waId, store, clock: this.#ctx.clock })
  }

  templatePack(client: NetworkClient, fresh = false): Promise<TemplatePack> {
    const waba = async () => (await this.#ctx.store.numbers.hosting(this.phoneNumberId))?.wabaId ?? null
    return this.#ctx.templates.get(this.phoneNumberId, client, { fresh, waba })
  }

  templatePackAge(): number {
    return this.#ctx.templates.age(this.phoneNumberId) ?? Infinity
  }

  async identityNotice(peer: string, hash: string, settings: ApplicationSettings): Promise<IdentityNotice> {
    const blocking = settings.show_security_notifications
    if (!blocking) return { hash, blocking }
    const contact = (await this.#ctx.store.contactState.get(this.phoneNumberId, [peer])).get(peer)
    const name = contact?.profileName ?? peer
    const now = this.#ctx.clock.now()
    const message = identityChangedMessage({ id: messageId(), from: peer, timestamp: String(Math.floor(now / 1000)), hash, createdAt: now, name })
    const event: InboundMessageEvent = { type: 'message', contact: { wa_id: peer, profile: { name } }, message }
    if (contact?.userId) event.user_id = contact.userId
    return { hash, blocking, event }
  }

  async writeIdentityNotice(tx: Store, peer: string, notice: IdentityNotice): Promise<void> {
    await tx.contacts.recordIdentity(this.phoneNumberId, peer, notice.hash, !notice.blocking)
    if (notice.event) await tx.callbacks.enqueue(this.phoneNumberId, notice.event)
  }

  /** Records identities seen for the first time (trust on first use) for the identity edge. */
  async writeNewIdentities(tx: Store, changes: SignalChanges, changed: string | undefined): Promise<void> {
    for (const [address, identity] of changes.remoteIdentities) {
      if (address !== changed) await tx.contacts.recordIdentity(this.phoneNumberId, address, identityHash(identity.publicKey), true)
    }
  }

  // ---- pre-keys ----

  /** Generates and uploads a fresh batch of pre-keys; one top-up at a time. */
  async topUpKeys(client: NetworkClient): Promise<void> {
    if (this.#toppingUp || this.#stopped) return
    this.#toppingUp = true
    try {
      const { payload, changes } = await prepareKeys(this.#ctx.store, this.#ctx.clock, this.cache, this.waId, this.#ctx.tuning.preKeys)
      await this.#ctx.queue.submit((tx) => tx.signal.apply(this.phoneNumberId, changes))
      this.cache.apply(changes)
      await client.request({ t: 'keys.upload', ...payload })
      this.#logger.info({ preKeys: payload.preKeys.length }, 'pre-keys uploaded')
    } catch (err) {
      this.#logger.warn({ err }, 'pre-key top-up failed')
    } finally {
      this.#toppingUp = false
    }
  }

  // ---- contacts check ----

  /** Checks inputs against the cache (7 days) and the network; inputs that are no phone number fail. */
  async checkContacts(inputs: string[], forceCheck: boolean): Promise<ContactCheckResult[]> {
    const client = this.anyClient()
    if (!client) throw new Error('no network connection for this number')
    const normalized = inputs.map((input) => normalizeContactInput(input))
    const candidates = [...new Set(normalized.filter((n): n is string => n !== null))]
    const known = forceCheck ? new Map<string, 'valid' | 'invalid'>() : await this.#ctx.store.contactChecks.cached(this.phoneNumberId, candidates, this.#ctx.clock.now() - CONTACT_CHECK_TTL_MS)
    const missing = candidates.filter((c) => !known.has(c))
    const fresh: { waId: string; status: 'valid' | 'invalid' }[] = []
    for (let i = 0; i < missing.length; i += CHECK_CHUNK) {
      const part = missing.slice(i, i + CHECK_CHUNK)
      const { results } = await client.request<ContactsCheckResult>({ t: 'contacts.check', phones: part })
      const found = new Map(results.map((r) => [normalizePhone(r.phone) ?? r.phone, r.waId]))
      for (const phone of part) fresh.push({ waId: phone, status: found.get(phone) ? 'valid' : 'invalid' })
    }
    if (fresh.length > 0) await this.#ctx.store.contactChecks.save(this.phoneNumberId, fresh)
    const byPhone = new Map([...known].map(([waId, status]) => [waId, status]))
    for (const [i, f] of fresh.entries()) byPhone.set(missing[i]!, f.status)
    return inputs.map((input, i) => {
      const phone = normalized[i]
      if (!phone) return { input, status: 'failed' }
      const status = byPhone.get(phone) ?? 'failed'
      return status === 'valid' ? { input, status, wa_id: phone } : { input, status }
    })
  }

  /** Answers queued `no_wait` checks with a `contacts` callback. Shard 0's owner does it, so it happens once. */
  async #runCheckJobs(): Promise<void> {
    if (this.#checkingJobs || !this.#connections.get(0)?.connected) return
    this.#checkingJobs = true
    try {
      for (const job of await this.#ctx.store.contactChecks.jobs(this.phoneNumberId, 20)) {
        const results = await this.checkContacts(job.inputs, job.forceCheck)
        const event: ContactsEvent = {
          type: 'contacts',
          contacts: results.map((r) => ({ input: r.input, status: r.status === 'processing' ? 'failed' : r.status, ...(r.wa_id ? { wa_id: r.wa_id } : {}) })),
        }
        await this.#ctx.queue.submit(async (tx) => {
          await tx.callbacks.enqueue(this.phoneNumberId, event)
          await tx.contactChecks.deleteJob(job.seq)
        })
        this.#ctx.notifyCallbacks()
      }
    } catch (err) {
      this.#logger.warn({ err }, 'contact check job failed, will retry')
    } finally {
      this.#checkingJobs = false
    }
  }
}
