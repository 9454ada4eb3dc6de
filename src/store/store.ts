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

/** All SQL of wabox lives behind this facade; `transaction` gives the same facade over one transaction. */
export class Store {
  readonly numbers: PhoneNumbers
  readonly messages: Messages
  readonly callbacks: Callbacks
  readonly users: Users
  readonly apiKeys: ApiKeys
  readonly media: MediaRecords
  readonly contacts: Contacts
  readonly profiles: NumberProfiles
  readonly dbStats: DbStats
  // the CoreApp's repositories
  readonly outbox: Outbox
  readonly inbound: Inbound
  readonly signal: SignalState
  readonly shardLeases: ShardLeases
  readonly receipts: Receipts
  readonly contactState: ContactState
  readonly contactChecks: ContactChecks
  readonly conversations: Conversations
  // the Cloud API's accounts
  readonly apps: Apps
  readonly wabas: Wabas
  readonly accessTokens: AccessTokens
  readonly webhookSubscriptions: WebhookSubscriptions
  // the Cloud API's number management
  readonly management: NumberManagement
  readonly nodes: Nodes
  // the BSP hub's tenancy: partners → clients → WABAs → channels
  readonly partners: Partners
  readonly clients: Clients
  readonly channels: Channels
  readonly audit: AuditLog

  constructor(readonly ctx: StoreContext) {
    this.numbers = new PhoneNumbers(ctx)
    this.messages = new Messages(ctx)
    this.callbacks = new Callbacks(ctx)
    this.users = new Users(ctx)
    this.apiKeys = new ApiKeys(ctx)
    this.media = new MediaRecords(ctx)
    this.contacts = new Contacts(ctx)
    this.profiles = new NumberProfiles(ctx)
    this.dbStats = new DbStats(ctx)
    this.outbox = new Outbox(ctx)
    this.inbound = new Inbound(ctx)
    this.signal = new SignalState(ctx)
    this.shardLeases = new ShardLeases(ctx)
    this.receipts = new Receipts(ctx)
    this.contactState = new ContactState(ctx)
    this.contactChecks = new ContactChecks(ctx)
    this.conversations = new Conversations(ctx)
    this.apps = new Apps(ctx)
    this.wabas = new Wabas(ctx)
    this.accessTokens = new AccessTokens(ctx)
    this.webhookSubscriptions = new WebhookSubscriptions(ctx)
    this.management = new NumberManagement(ctx)
    this.nodes = new Nodes(ctx)
    this.partners = new Partners(ctx)
    this.clients = new Clients(ctx)
    this.channels = new Channels(ctx)
    this.audit = new AuditLog(ctx)
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
