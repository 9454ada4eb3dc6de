import type { Kysely } from 'kysely'
import type { Clock } from '../clock.js'
import type { Database, Dialect } from './database.js'
import type { Engine } from './engines/engine.js'
import type { DB } from './schema.js'
import type { Regions } from './regions.js'
import type { Sealer } from './sealer.js'
import { AccessTokens } from './access-tokens.js'
import { ApiKeys } from './api-keys.js'
import { Apps } from './apps.js'
import { AuditLog } from './audit-log.js'
import { Callbacks } from './callbacks.js'
import { Channels } from './channels.js'
import { Clients } from './clients.js'
import { Contacts } from './contacts.js'
import { DbStats } from './db-stats.js'
import { MediaRecords } from './media.js'
import { Messages } from './messages.js'
import { Nodes } from './nodes.js'
import { Partners } from './partners.js'
import { PhoneNumbers } from './phone-numbers.js'
import { NumberProfiles } from './profile.js'
import { NumberManagement } from './number-management.js'
import { Users } from './users.js'
import { ContactChecks } from './contact-checks.js'
import { ContactState } from './contact-state.js'
import { Conversations } from './conversations.js'
import { Inbound } from './inbound.js'
import { Outbox } from './outbox.js'
import { Receipts } from './receipts.js'
import { ShardLeases } from './shard-leases.js'
import { SignalState } from './signal-state.js'
import { Wabas } from './wabas.js'
import { WebhookSubscriptions } from './webhook-subscriptions.js'

/** What every repository needs: a connection (or open transaction), the sealer and the clock. */
export interface StoreContext {
  readonly db: Kysely<DB>
  readonly dialect: Dialect
  /** Engine-specific statements (upserts, returning, claims, locks); repositories never test `dialect`. */
  readonly engine: Engine
  readonly sealer: Sealer
  readonly clock: Clock
  /** Data-residency regions; unset when none is configured (all content stays in `db`). */
  readonly regions?: Regions | undefined
}

/**
 * All SQL of wabox lives behind this facade; `transaction` gives the same facade over one transaction.
 * Repositories are made on first use: a transaction touches two or three of them.
 */
export class Store {
  readonly #repos = new Map<new (ctx: StoreContext) => unknown, unknown>()

  constructor(readonly ctx: StoreContext) {}

  #repo<T>(Repo: new (ctx: StoreContext) => T): T {
    let repo = this.#repos.get(Repo) as T | undefined
    if (repo === undefined) {
      repo = new Repo(this.ctx)
      this.#repos.set(Repo, repo)
    }
    return repo
  }

  get numbers(): PhoneNumbers {
    return this.#repo(PhoneNumbers)
  }

  get messages(): Messages {
    return this.#repo(Messages)
  }

  get callbacks(): Callbacks {
    return this.#repo(Callbacks)
  }

  get users(): Users {
    return this.#repo(Users)
  }

  get apiKeys(): ApiKeys {
    return this.#repo(ApiKeys)
  }

  get media(): MediaRecords {
    return this.#repo(MediaRecords)
  }

  get contacts(): Contacts {
    return this.#repo(Contacts)
  }

  get profiles(): NumberProfiles {
    return this.#repo(NumberProfiles)
  }

  get dbStats(): DbStats {
    return this.#repo(DbStats)
  }

  // the CoreApp's repositories
  get outbox(): Outbox {
    return this.#repo(Outbox)
  }

  get inbound(): Inbound {
    return this.#repo(Inbound)
  }

  get signal(): SignalState {
    return this.#repo(SignalState)
  }

  get shardLeases(): ShardLeases {
    return this.#repo(ShardLeases)
  }

  get receipts(): Receipts {
    return this.#repo(Receipts)
  }

  get contactState(): ContactState {
    return this.#repo(ContactState)
  }

  get contactChecks(): ContactChecks {
    return this.#repo(ContactChecks)
  }

  get conversations(): Conversations {
    return this.#repo(Conversations)
  }

  // the Cloud API's accounts
  get apps(): Apps {
    return this.#repo(Apps)
  }

  get wabas(): Wabas {
    return this.#repo(Wabas)
  }

  get accessTokens(): AccessTokens {
    return this.#repo(AccessTokens)
  }

  get webhookSubscriptions(): WebhookSubscriptions {
    return this.#repo(WebhookSubscriptions)
  }

  // the Cloud API's number management
  get management(): NumberManagement {
    return this.#repo(NumberManagement)
  }

  get nodes(): Nodes {
    return this.#repo(Nodes)
  }

  // the BSP hub's tenancy: partners → clients → WABAs → channels
  get partners(): Partners {
    return this.#repo(Partners)
  }

  get clients(): Clients {
    return this.#repo(Clients)
  }

  get channels(): Channels {
    return this.#repo(Channels)
  }

  get audit(): AuditLog {
    return this.#repo(AuditLog)
  }

  get dialect(): Dialect {
    return this.ctx.dialect
  }

  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return this.ctx.db.transaction().execute((trx) => fn(new Store({ ...this.ctx, db: trx })))
  }

  static open(database: Database, sealer: Sealer, clock: Clock, regions?: Regions): Store {
    return new Store({ db: database.db, dialect: database.dialect, engine: database.engine, sealer, clock, regions })
  }
}
