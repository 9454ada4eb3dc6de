import type { InboundMessageEvent } from '../domain/events.js'
import type { ApplicationSettings } from '../domain/settings.js'
import type { TemplatePack } from '../domain/templates.js'
import type { KeyedQueue } from '../signal/keyed-queue.js'
import type { SignalAccount } from '../signal/account.js'
import type { SignalStateStore } from '../signal/state-store.js'
import type { SignalChanges } from '../store/signal-state.js'
import type { Store } from '../store/store.js'
import type { NetworkClient } from '../wire/client.js'
import type { CommitBatch } from './commit-queue.js'
import type { ShardConnection } from './shard-connection.js'
import type { SignalCache } from './signal-store.js'

/** The shard's lease went to another process: nothing of the unit may be committed. */
export class LeaseLost extends Error {
  override name = 'LeaseLost'
}

/** A user's identity key changed: what to store and report. */
export interface IdentityNotice {
  hash: string
  /** Sends to the user wait for an acknowledgement (show_security_notifications). */
  blocking: boolean
  /** The `user_identity_changed` system message, when notifications are on. */
  event?: InboundMessageEvent
}

/** What the pipelines need from the engine of their number. */
export interface EngineView {
  readonly phoneNumberId: string
  readonly waId: string
  readonly cache: SignalCache
  /** Serializes all Signal work on one remote: crypto and the commit of its result. */
  readonly peers: KeyedQueue
  /** The number's settings, read again when older than `settingsMaxAgeMs` (they change through the API). */
  refreshSettings(): Promise<ApplicationSettings>
  displayName(): string
  /** The connection of a shard this process holds (possibly reconnecting). */
  connection(shard: number): ShardConnection | undefined
  /** Shards whose connection is logged in right now. */
  connectedShards(): number[]
  /** A logged-in connection for requests that are not about one recipient (templates, contacts). */
  anyClient(): NetworkClient | undefined
  shardOf(peer: string): number
  /** Throws LeaseLost unless this process still holds `shard`; call inside the committing transaction (checked once per transaction). */
  fence(tx: Store, batch: CommitBatch, shard: number): Promise<void>
  openAccount(store: SignalStateStore): Promise<SignalAccount>
  templatePack(client: NetworkClient, fresh?: boolean): Promise<TemplatePack>
  /** Milliseconds since the cached pack was fetched (Infinity if none). */
  templatePackAge(): number
  identityNotice(peer: string, hash: string, settings: ApplicationSettings): Promise<IdentityNotice>
  writeIdentityNotice(tx: Store, peer: string, notice: IdentityNotice): Promise<void>
  /** Stores identities seen for the first time (all of `changes` except the one that `changed`). */
  writeNewIdentities(tx: Store, changes: SignalChanges, changed: string | undefined): Promise<void>
}
