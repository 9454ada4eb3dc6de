import type { Kysely } from 'kysely'
import type { Clock } from '../clock.js'
import { openDatabase, type Database, type DatabaseOptions } from './database.js'
import { migrateRegion } from './region-migrations.js'
import type { DB } from './schema.js'
import type { Sealer } from './sealer.js'
import { statementChunks } from './statement-chunks.js'

export type RegionContentKind = 'content' | 'callback_data' | 'callback'

interface RegionContentTable {
  key: string
  phone_number_id: string
  kind: string
  value: Buffer
  created_at: number
}

export interface RegionRow {
  key: string
  phoneNumberId: string
  kind: RegionContentKind
  /** Sealed with the region's data key. */
  value: Buffer
}

/** Where a region is, as src/config resolved it. */
export interface RegionLocation {
  name: string
  url: string | undefined
  sqlitePath: string | undefined
  mediaRoot: string
}

/*
 * A home column holding region content keeps a reference: 'R' | "<REGION>/<key>". Sealed values
 * start with their version byte (1 or 2), so a reference is never taken for one.
 */
const REFERENCE = 0x52

export function isContentReference(value: Uint8Array | null | undefined): boolean {
  return value !== null && value !== undefined && value[0] === REFERENCE
}

export function contentReference(region: string, key: string): Buffer {
  return Buffer.concat([Buffer.of(REFERENCE), Buffer.from(`${region}/${key}`, 'utf8')])
}

export function parseContentReference(value: Uint8Array): { region: string; key: string } {
  const text = Buffer.from(value.buffer, value.byteOffset + 1, value.byteLength - 1).toString('utf8')
  const slash = text.indexOf('/')
  return { region: text.slice(0, slash), key: text.slice(slash + 1) }
}

/** The keys the references among `values` name, by region (values that are no reference are left out). */
export function referencesByRegion(values: readonly (Uint8Array | null)[]): Map<string, string[]> {
  const byRegion = new Map<string, string[]>()
  for (const v of values) {
    if (!isContentReference(v)) continue
    const ref = parseContentReference(v!)
    const keys = byRegion.get(ref.region)
    if (keys) keys.push(ref.key)
    else byRegion.set(ref.region, [ref.key])
  }
  return byRegion
}

const ROWS_PER_STATEMENT = 256
/** How long a process trusts what it read of a number's region. */
const REGION_CACHE_MS = 2_000
/** How long after a region change every process writes to the new region. */
export const REGION_SETTLE_MS = REGION_CACHE_MS + 1_000

/** One region's database: content at rest of the numbers whose WABA is localised there. */
export class RegionStore {
  readonly #db: Kysely<{ region_content: RegionContentTable }>

  constructor(
    readonly name: string,
    readonly database: Database,
    /** The region's data key ring (sealer.forRegion). */
    readonly sealer: Sealer,
    readonly mediaRoot: string,
    private readonly clock: Clock,
  ) {
    this.#db = database.db.withTables<{ region_content: RegionContentTable }>()
  }

  /** Writes rows (a retried key keeps its first value): one statement per batch of rows. */
  async put(rows: readonly RegionRow[]): Promise<void> {
    const now = this.clock.now()
    for (const part of statementChunks([...rows], ROWS_PER_STATEMENT)) {
      await this.database.engine.insertIgnore(this.#db.insertInto('region_content').values(part.map((r) => ({
        key: r.key, phone_number_id: r.phoneNumberId, kind: r.kind, value: r.value, created_at: now,
      }))), ['key']).execute()
    }
  }

  /** Sealed values by key; absent keys are missing from the map. */
  async get(keys: readonly string[]): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>()
    for (const part of statementChunks([...new Set(keys)], ROWS_PER_STATEMENT)) {
      const rows = await this.#db.selectFrom('region_content').select(['key', 'value']).where('key', 'in', part).execute()
      for (const r of rows) out.set(r.key, Buffer.from(r.value))
    }
    return out
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const part of statementChunks([...keys], ROWS_PER_STATEMENT)) await this.#db.deleteFrom('region_content').where('key', 'in', part).execute()
  }

  /**
   * Deletes a number's rows written before `before`, except the keys in `keep` (content still
   * waiting for delivery); `batch` keys per statement. Orphans (a crash after the region write
   * and before the home row) go this way too. Returns how many rows were deleted.
   */
  async purgeBefore(phoneNumberId: string, before: number, keep: ReadonlySet<string>, batch: number): Promise<number> {
    let purged = 0
    let after = { at: -1, key: '' }
    for (;;) {
      const cursor = after
      const rows = await this.#db.selectFrom('region_content').select(['key', 'created_at'])
        .where('phone_number_id', '=', phoneNumberId).where('created_at', '<', before)
        .where((eb) => eb.or([eb('created_at', '>', cursor.at), eb.and([eb('created_at', '=', cursor.at), eb('key', '>', cursor.key)])]))
        .orderBy('created_at').orderBy('key').limit(batch).execute()
      const gone = rows.map((r) => r.key).filter((k) => !keep.has(k))
      if (gone.length > 0) await this.#db.deleteFrom('region_content').where('key', 'in', gone).execute()
      purged += gone.length
      if (rows.length < batch) return purged
      const last = rows[rows.length - 1]!
      after = { at: Number(last.created_at), key: last.key }
    }
  }

  /** A number's rows in key order after `afterKey`, for a move to another region. */
  async page(phoneNumberId: string, afterKey: string, limit: number): Promise<RegionRow[]> {
    const rows = await this.#db.selectFrom('region_content').select(['key', 'phone_number_id', 'kind', 'value'])
      .where('phone_number_id', '=', phoneNumberId).where('key', '>', afterKey).orderBy('key').limit(limit).execute()
    return rows.map((r) => ({ key: r.key, phoneNumberId: r.phone_number_id, kind: r.kind as RegionContentKind, value: Buffer.from(r.value) }))
  }

  /**
   * Re-seals the values not sealed with the region's current key, `batch` rows per pass; a
   * master-key rotation runs it for each region before the old key is dropped (the region's
   * key derives from the master key). A value changed meanwhile is left to the next run.
   */
  async resealStale(batch: number): Promise<number> {
    let resealed = 0
    let after = ''
    for (;;) {
      const rows = await this.#db.selectFrom('region_content').select(['key', 'value']).where('key', '>', after).orderBy('key').limit(batch).execute()
      for (const r of rows) {
        if (this.sealer.isCurrent(r.value)) continue
        await this.#db.updateTable('region_content').set({ value: this.sealer.seal(this.sealer.open(r.value)) })
          .where('key', '=', r.key).where('value', '=', r.value).execute()
        resealed++
      }
      if (rows.length < batch) return resealed
      after = rows[rows.length - 1]!.key
    }
  }

  async count(phoneNumberId?: string): Promise<number> {
    let q = this.#db.selectFrom('region_content').select((eb) => eb.fn.countAll<number>().as('n'))
    if (phoneNumberId !== undefined) q = q.where('phone_number_id', '=', phoneNumberId)
    return Number((await q.executeTakeFirstOrThrow()).n)
  }
}

/** A region a WABA names but this deployment does not configure. */
export class UnconfiguredRegionError extends Error {
  constructor(readonly region: string, readonly configured: readonly string[], subject: string) {
    super(`${subject} is localised in region ${region}, which is not configured here (configured: ${configured.join(', ') || 'none'}); add --region ${region}=LOCATION`)
  }
}

/** The configured regions, and which one each number's content lives in. */
export class Regions {
  readonly #stores: Map<string, RegionStore>
  readonly #numbers = new Map<string, { region: string | null; at: number }>()

  constructor(stores: readonly RegionStore[], private readonly clock: Clock) {
    this.#stores = new Map(stores.map((s) => [s.name, s]))
  }

  get names(): string[] {
    return [...this.#stores.keys()]
  }

  get(name: string): RegionStore | undefined {
    return this.#stores.get(name)
  }

  /** The store a number's content goes to, or undefined for a number without a region. */
  async of(db: Kysely<DB>, phoneNumberId: string): Promise<RegionStore | undefined> {
    const now = this.clock.now()
    let known = this.#numbers.get(phoneNumberId)
    if (!known || now - known.at > REGION_CACHE_MS) {
      const row = await db.selectFrom('phone_numbers as n').innerJoin('wabas as w', 'w.id', 'n.waba_id')
        .select('w.data_localization_region as region').where('n.id', '=', phoneNumberId).executeTakeFirst()
      known = { region: row?.region ?? null, at: now }
      this.#numbers.set(phoneNumberId, known)
    }
    if (known.region === null) return undefined
    const store = this.#stores.get(known.region)
    if (!store) throw new UnconfiguredRegionError(known.region, this.names, `number ${phoneNumberId}`)
    return store
  }

  /** Forgets what was read of numbers' regions (after a change). */
  forget(phoneNumberId?: string): void {
    if (phoneNumberId === undefined) this.#numbers.clear()
    else this.#numbers.delete(phoneNumberId)
  }

  async close(): Promise<void> {
    await Promise.all([...this.#stores.values()].map((s) => s.database.close()))
  }
}

/** Opens and migrates every configured region; what was opened is closed again on a failure. */
export async function openRegions(locations: readonly RegionLocation[], sealer: Sealer, clock: Clock, options: Pick<DatabaseOptions, 'statementTimeoutMs'> = {}): Promise<Regions> {
  const stores: RegionStore[] = []
  try {
    for (const at of locations) {
      const database = openDatabase({ url: at.url, sqlitePath: at.sqlitePath, ...options })
      stores.push(new RegionStore(at.name, database, sealer.forRegion(at.name), at.mediaRoot, clock))
      await migrateRegion(database)
    }
    return new Regions(stores, clock)
  } catch (err) {
    await Promise.all(stores.map((s) => s.database.close().catch(() => undefined)))
    throw err
  }
}

/** WABAs whose region is not among `configured`. */
export async function wabasInUnconfiguredRegions(db: Kysely<DB>, configured: readonly string[]): Promise<{ wabaId: string; region: string }[]> {
  let q = db.selectFrom('wabas').select(['id', 'data_localization_region as region']).where('data_localization_region', 'is not', null)
  if (configured.length > 0) q = q.where('data_localization_region', 'not in', [...configured])
  const rows = await q.orderBy('id').execute()
  return rows.map((r) => ({ wabaId: r.id, region: r.region! }))
}
