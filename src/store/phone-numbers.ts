import type { PlatformType } from '../domain/hosting.js'
import { withDefaults, type ApplicationSettings } from '../domain/settings.js'
import type { PhoneNumberRow } from './schema.js'
import type { Sealer } from './sealer.js'
import type { StoreContext } from './store.js'

type Webhooks = ApplicationSettings['webhooks']

/**
 * How `settings` keeps the webhook's secrets: `url` (credentials, tokens in the path) and
 * `headers` (Authorization …) sealed together under `webhooks.sealed`, never in clear. Rows
 * written before hold them in clear; they load as they are and are sealed on the next write
 * or by `sealWebhookSecrets` at startup.
 */
interface StoredWebhooks extends Partial<Webhooks> {
  sealed?: string
}
type StoredSettings = Omit<Partial<ApplicationSettings>, 'webhooks'> & { webhooks?: StoredWebhooks }
type WebhookSecrets = Pick<Webhooks, 'url' | 'headers'>

function holdsClearSecrets(hooks: StoredWebhooks | undefined): boolean {
  return !!hooks && ((hooks.url ?? null) !== null || Object.keys(hooks.headers ?? {}).length > 0)
}

export interface NewPhoneNumber {
  id: string
  cc: string
  number: string
  displayName: string
  /** The WABA it belongs to (default none). */
  wabaId?: string | null
  /** Default ON_PREMISE. */
  platformType?: PlatformType
}

/** Where a number belongs and which platform serves it (Meta's `platform_type`). */
export interface NumberHosting {
  wabaId: string | null
  platformType: PlatformType
}

export type GatewayStatus = 'connected' | 'connecting' | 'disconnected' | 'unregistered' | 'uninitialized'

/**
 * Webhook secrets already unsealed, and settings already parsed, by their text: settings are
 * read for every message sent and every batch of statuses. Kept per sealer, not per
 * repository: each transaction makes its repositories anew, and only the sealer that opened a
 * secret may answer for it.
 */
const OPENED_LIMIT = 256
const memos = new WeakMap<Sealer, { opened: Map<string, Readonly<WebhookSecrets>>; parsed: Map<string, ApplicationSettings> }>()

function memoOf(sealer: Sealer) {
  let memo = memos.get(sealer)
  if (!memo) memos.set(sealer, (memo = { opened: new Map(), parsed: new Map() }))
  return memo
}

/** Adds to a bounded memo: when full it starts over, which costs one parse per entry. */
function remember<V>(memo: Map<string, V>, key: string, value: V): V {
  if (memo.size >= OPENED_LIMIT) memo.clear()
  memo.set(key, value)
  return value
}

export class PhoneNumbers {
  readonly #opened: Map<string, Readonly<WebhookSecrets>>
  readonly #parsed: Map<string, ApplicationSettings>

  constructor(private readonly ctx: StoreContext) {
    const memo = memoOf(ctx.sealer)
    this.#opened = memo.opened
    this.#parsed = memo.parsed
  }

  async create(input: NewPhoneNumber): Promise<PhoneNumberRow> {
    const now = this.ctx.clock.now()
    const row: PhoneNumberRow = {
      id: input.id,
      cc: input.cc,
      number: input.number,
      wa_id: input.cc + input.number,
      display_name: input.displayName,
      status: 'unregistered',
      gateway_status: 'unregistered',
      settings: JSON.stringify({}),
      shard_count: 1,
      cert: null,
      network_secret: null,
      pin_hash: null,
      webhook_secret: null,
      waba_id: input.wabaId ?? null,
      platform_type: input.platformType ?? 'ON_PREMISE',
      webhook_override: null,
      created_at: now,
      updated_at: now,
    }
    // 0007's columns are written only when they differ from their defaults: a store migrated
    // to an older step (upgrade tests) can still create numbers
    const { waba_id: wabaId, platform_type: platformType, webhook_override: _override, ...base } = row
    await this.ctx.db.insertInto('phone_numbers').values({
      ...base,
      ...(wabaId !== null ? { waba_id: wabaId } : {}),
      ...(platformType !== 'ON_PREMISE' ? { platform_type: platformType } : {}),
    }).execute()
    return row
  }

  get(id: string): Promise<PhoneNumberRow | undefined> {
    return this.ctx.db.selectFrom('phone_numbers').selectAll().where('id', '=', id).executeTakeFirst()
  }

  getByWaId(waId: string): Promise<PhoneNumberRow | undefined> {
    return this.ctx.db.selectFrom('phone_numbers').selectAll().where('wa_id', '=', waId).executeTakeFirst()
  }

  list(): Promise<PhoneNumberRow[]> {
    return this.ctx.db.selectFrom('phone_numbers').selectAll().orderBy('created_at').execute()
  }

  /** The numbers of a WABA (what its access tokens reach), oldest first. */
  listByWaba(wabaId: string): Promise<PhoneNumberRow[]> {
    return this.ctx.db.selectFrom('phone_numbers').selectAll().where('waba_id', '=', wabaId).orderBy('created_at').orderBy('id').execute()
  }

  /** The number's WABA and platform; undefined for an unknown number. */
  async hosting(id: string): Promise<NumberHosting | undefined> {
    const row = await this.ctx.db.selectFrom('phone_numbers').select(['waba_id', 'platform_type']).where('id', '=', id).executeTakeFirst()
    return row && { wabaId: row.waba_id, platformType: row.platform_type === 'CLOUD_API' ? 'CLOUD_API' : 'ON_PREMISE' }
  }

  /** Moves the number to a WABA (null: none) and/or another platform. False for an unknown number. */
  async setHosting(id: string, hosting: Partial<NumberHosting>): Promise<boolean> {
    const fields = {
      ...(hosting.wabaId !== undefined ? { waba_id: hosting.wabaId } : {}),
      ...(hosting.platformType !== undefined ? { platform_type: hosting.platformType } : {}),
    }
    const result = await this.ctx.db.updateTable('phone_numbers').set({ ...fields, updated_at: this.ctx.clock.now() })
      .where('id', '=', id).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  /** The number's settings over the defaults, webhook secrets unsealed. */
  settings(row: PhoneNumberRow): ApplicationSettings {
    return this.#parsed.get(row.settings) ?? remember(this.#parsed, row.settings, deepFreeze(this.parseSettings(row.settings)))
  }

  /** `settings` of the raw column text (the dispatcher reads the column itself). */
  parseSettings(text: string): ApplicationSettings {
    return withDefaults(this.#open(text))
  }

  /** Only what was set (no defaults), secrets unsealed: the base a partial update merges onto. */
  storedSettings(row: PhoneNumberRow): Partial<ApplicationSettings> {
    return this.#open(row.settings)
  }

  async saveSettings(id: string, settings: Partial<ApplicationSettings>): Promise<void> {
    await this.ctx.db.updateTable('phone_numbers')
      .set({ settings: this.sealSettings(settings), updated_at: this.ctx.clock.now() })
      .where('id', '=', id).execute()
  }

  /** The column text for these settings, webhook URL and headers sealed. */
  sealSettings(settings: Partial<ApplicationSettings>): string {
    const { webhooks, ...rest } = settings
    if (!webhooks) return JSON.stringify(rest)
    const { url, headers, ...plain } = webhooks as Partial<Webhooks>
    const secrets: WebhookSecrets = { url: url ?? null, headers: headers ?? {} }
    const hooks: StoredWebhooks = holdsClearSecrets(secrets) ? { ...plain, sealed: this.ctx.sealer.sealJson(secrets).toString('base64') } : plain
    return JSON.stringify({ ...rest, webhooks: hooks })
  }

  /**
   * Seals the webhook secrets of rows written in clear before they were sealed; returns how
   * many. A row changed meanwhile is left to its writer, who sealed it.
   */
  async sealWebhookSecrets(): Promise<number> {
    let sealed = 0
    for (const row of await this.ctx.db.selectFrom('phone_numbers').select(['id', 'settings']).execute()) {
      const stored = JSON.parse(row.settings) as StoredSettings
      if (stored.webhooks?.sealed !== undefined || !holdsClearSecrets(stored.webhooks)) continue
      const result = await this.ctx.db.updateTable('phone_numbers').set({ settings: this.sealSettings(this.#open(row.settings)) })
        .where('id', '=', row.id).where('settings', '=', row.settings).executeTakeFirst()
      sealed += Number(result.numUpdatedRows)
    }
    return sealed
  }

  #open(text: string): Partial<ApplicationSettings> {
    const stored = JSON.parse(text) as StoredSettings
    const hooks = stored.webhooks
    if (hooks?.sealed === undefined) return stored as Partial<ApplicationSettings>
    const { sealed, ...plain } = hooks
    const secrets = this.#secrets(sealed)
    return { ...stored, webhooks: { ...plain, url: secrets.url, headers: { ...secrets.headers } } as Webhooks }
  }

  #secrets(sealed: string): Readonly<WebhookSecrets> {
    return this.#opened.get(sealed) ?? remember(this.#opened, sealed, this.ctx.sealer.openJson<WebhookSecrets>(Buffer.from(sealed, 'base64')))
  }

  /** The connection state of a registered number (a lost one stays `unregistered`). */
  /**
   * With `heldBy`, only while that CoreApp still holds one of the number's shards: a node that
   * lost them (stopped, then resumed) must not overwrite what the new owner reports.
   */
  async setGatewayStatus(id: string, status: GatewayStatus, heldBy?: string): Promise<void> {
    const now = this.ctx.clock.now()
    let q = this.ctx.db.updateTable('phone_numbers')
      .set({ gateway_status: status, updated_at: now })
      .where('id', '=', id).where('status', '=', 'registered')
    if (heldBy !== undefined) {
      q = q.where(({ exists, selectFrom }) => exists(selectFrom('shard_leases').select('shard_leases.shard')
        .whereRef('shard_leases.phone_number_id', '=', 'phone_numbers.id')
        .where('shard_leases.owner', '=', heldBy).where('shard_leases.expires_at', '>', now)))
    }
    await q.execute()
  }

  /**
   * The network refused the credentials sealed in `networkSecret`: the number is unregistered
   * (its dead credentials stay, see domain/number-loss.ts). False when it was registered again
   * meanwhile, or another caller marked it first.
   */
  async markLost(id: string, networkSecret: Buffer): Promise<boolean> {
    const result = await this.ctx.db.updateTable('phone_numbers')
      .set({ status: 'unregistered', gateway_status: 'unregistered', updated_at: this.ctx.clock.now() })
      .where('id', '=', id).where('status', '=', 'registered').where('network_secret', '=', networkSecret).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async update(id: string, fields: Partial<Omit<PhoneNumberRow, 'id' | 'created_at'>>): Promise<void> {
    await this.ctx.db.updateTable('phone_numbers')
      .set({ ...fields, updated_at: this.ctx.clock.now() })
      .where('id', '=', id).execute()
  }
}

/** Shared between callers, so nobody may change it. */
function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) deepFreeze(v as object)
  return Object.freeze(value)
}
