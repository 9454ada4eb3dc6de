import type { Expression, Kysely, SqlBool } from 'kysely'
import type { Database } from './database.js'
import type { Regions } from './regions.js'
import type { DB } from './schema.js'
import { isContentReference } from './regions.js'
import type { Sealer } from './sealer.js'

/** A column holding sealed values; `settings` is the phone number's JSON with `webhooks.sealed` (base64). */
interface SealedColumn {
  table: string
  key: string[]
  column: string
  settings?: boolean
  /** meta holds sealed and plain rows: only these names are sealed. */
  names?: string[]
}

const MEDIA_KEY = 'media_volume_key'
const PROGRESS = 'master_key_rotation'
/** The id of the key every process seals with, once a rotation named one (plain, not sealed). */
const SEALING_KEY = 'sealing_key_id'

/** Every sealed value of the store (media files are sealed with the media volume key, itself sealed in meta). */
const SEALED: SealedColumn[] = [
  { table: 'meta', key: ['name'], column: 'value', names: ['at_rest_key_check', MEDIA_KEY] },
  { table: 'phone_numbers', key: ['id'], column: 'network_secret' },
  { table: 'phone_numbers', key: ['id'], column: 'webhook_secret' },
  { table: 'phone_numbers', key: ['id'], column: 'webhook_override' },
  { table: 'phone_numbers', key: ['id'], column: 'settings', settings: true },
  { table: 'apps', key: ['id'], column: 'app_secret' },
  { table: 'apps', key: ['id'], column: 'subscription' },
  { table: 'wabas', key: ['id'], column: 'webhook_override' },
  { table: 'number_profiles', key: ['phone_number_id'], column: 'media_providers' },
  { table: 'cluster_secrets', key: ['name'], column: 'value' },
  { table: 'signal_accounts', key: ['phone_number_id'], column: 'identity_key_pair' },
  { table: 'signal_keys', key: ['phone_number_id', 'kind', 'key_id'], column: 'record' },
  { table: 'signal_sessions', key: ['phone_number_id', 'address'], column: 'record' },
  { table: 'messages', key: ['seq'], column: 'content' },
  { table: 'messages', key: ['seq'], column: 'callback_data' },
  { table: 'callbacks', key: ['seq'], column: 'payload' },
]

/** Where a rotation stands: persisted with each batch, so a killed rotation resumes there. */
interface Progress {
  keyId: string
  column: number
  after: unknown[] | null
}

type Row = Record<string, unknown>
type AnyDb = Kysely<Record<string, Row>>

export interface RotationReport {
  resealed: number
  batches: number
}

/**
 * Re-seals every value not sealed with the sealer's primary key, `batch` rows per transaction,
 * the progress written in `meta` in the same transaction. Reads accept both keys meanwhile
 * (the Sealer is a keyring). Rows written during the rotation are sealed with the new key.
 * `afterBatch` runs after each committed batch.
 */
export async function resealAll(database: Database, sealer: Sealer, batch: number, afterBatch?: (report: RotationReport) => Promise<void>): Promise<RotationReport> {
  const db = database.db as unknown as AnyDb
  const report = { resealed: 0, batches: 0 }
  let progress = await readProgress(db)
  if (progress?.keyId !== sealer.keyId) progress = { keyId: sealer.keyId, column: 0, after: null }
  while (progress.column < SEALED.length) {
    const col = SEALED[progress.column]!
    const rows = await selectBatch(db, col, progress.after, batch)
    const last = rows[rows.length - 1]
    const next: Progress = rows.length < batch || !last
      ? { keyId: progress.keyId, column: progress.column + 1, after: null }
      : { keyId: progress.keyId, column: progress.column, after: col.key.map((k) => last[k]) }
    report.resealed += await database.db.transaction().execute(async (trx) => {
      const tx = trx as unknown as AnyDb
      const n = await resealRows(tx, sealer, col, rows)
      await writeProgress(database, tx, next)
      return n
    })
    report.batches++
    progress = next
    await afterBatch?.(report)
  }
  return report
}

/** Re-seals each region database's content with the region's ring (RegionStore.resealStale), reporting once per region. */
export async function resealRegions(regions: Regions | undefined, batch: number, afterBatch?: (report: RotationReport) => Promise<void>): Promise<RotationReport> {
  const report = { resealed: 0, batches: 0 }
  for (const name of regions?.names ?? []) {
    report.resealed += await regions!.get(name)!.resealStale(batch)
    report.batches++
    await afterBatch?.(report)
  }
  return report
}

export interface ResealOptions {
  afterBatch?: (report: RotationReport) => Promise<void>
  /** The region databases, whose content is sealed under the region keys of the same ring. */
  regions?: Regions | undefined
  maxPasses?: number
}

/**
 * `resealAll` and `resealRegions`, then full passes until one finds nothing left to re-seal: a
 * value a process sealed with the old key just before it adopted the new one may commit after
 * the first pass went by its row. `left`: what the last pass still found (0: done).
 */
export async function resealUntilCurrent(database: Database, sealer: Sealer, batch: number, opts: ResealOptions = {}): Promise<RotationReport & { left: number }> {
  const total = { resealed: 0, batches: 0 }
  // each call's report counts from zero: the caller sees the running total
  const counted = () => {
    const before = { ...total }
    return async (r: RotationReport) => {
      total.resealed = before.resealed + r.resealed
      total.batches = before.batches + r.batches
      await opts.afterBatch?.(total)
    }
  }
  const pass = async () => (await resealAll(database, sealer, batch, counted())).resealed + (await resealRegions(opts.regions, batch, counted())).resealed
  // the first pass may have resumed half-way: at least one full pass follows it
  let left = await pass()
  for (let n = 0; n < (opts.maxPasses ?? 5) && (n === 0 || left > 0); n++) {
    await writeProgress(database, database.db as unknown as AnyDb, { keyId: sealer.keyId, column: 0, after: null })
    left = await pass()
  }
  return { ...total, left }
}

/**
 * The key every process is to seal with: written when a rotation begins, after its key file was
 * staged; each process reads it at its heartbeat (Nodes) and seals with it once its files hold it.
 */
export async function sealingKeyId(db: Kysely<DB>): Promise<string | undefined> {
  const row = await (db as unknown as AnyDb).selectFrom('meta').select('value').where('name', '=', SEALING_KEY).executeTakeFirst()
  return row ? Buffer.from(row.value as Buffer).toString('utf8') : undefined
}

export async function setSealingKey(database: Database, keyId: string): Promise<void> {
  await writeMeta(database, database.db as unknown as AnyDb, SEALING_KEY, Buffer.from(keyId, 'utf8'))
}

/** The id of the key a rotation under way re-seals with (its progress row), if one is. */
export async function rotationKeyId(database: Database): Promise<string | undefined> {
  return (await readProgress(database.db as unknown as AnyDb))?.keyId
}

/** Ends a finished rotation: the progress row goes. */
export async function endRotation(database: Database): Promise<void> {
  await (database.db as unknown as AnyDb).deleteFrom('meta').where('name', '=', PROGRESS).execute()
}

/** How many sealed values the primary key did not seal (0 once a rotation is complete). */
export async function countNotCurrent(database: Database, sealer: Sealer): Promise<number> {
  const db = database.db as unknown as AnyDb
  let n = 0
  for (const col of SEALED) {
    let after: unknown[] | null = null
    for (;;) {
      const rows = await selectBatch(db, col, after, 500)
      n += rows.filter((r) => reseal(sealer, col, r[col.column]) !== undefined).length
      if (rows.length < 500) break
      after = col.key.map((k) => rows[rows.length - 1]![k])
    }
  }
  return n
}

/** The media volume's key, sealed in meta once a rotation began; undefined before the first rotation. */
export async function storedMediaKey(database: Database, sealer: Sealer): Promise<Buffer | undefined> {
  const row = await (database.db as unknown as AnyDb).selectFrom('meta').select('value').where('name', '=', MEDIA_KEY).executeTakeFirst()
  return row ? sealer.open(row.value as Buffer) : undefined
}

/** Keeps the media volume's key (derived from the first master key) across rotations: media files are not re-encrypted. */
export async function saveMediaKey(database: Database, sealer: Sealer, key: Buffer): Promise<void> {
  const db = database.db as unknown as AnyDb
  await database.engine.insertIgnore(db.insertInto('meta').values({ name: MEDIA_KEY, value: sealer.seal(key) }), ['name']).execute()
}

/** Writes the re-sealed values of `rows`, each only if the row still holds what was read (a process may have written it meanwhile, with the new key). */
async function resealRows(tx: AnyDb, sealer: Sealer, col: SealedColumn, rows: Row[]): Promise<number> {
  let n = 0
  for (const row of rows) {
    const value = reseal(sealer, col, row[col.column])
    if (value === undefined) continue
    await col.key.reduce((q, k) => q.where(k, '=', row[k]), tx.updateTable(col.table).set({ [col.column]: value }))
      .where(col.column, '=', row[col.column]).execute()
    n++
  }
  return n
}

/** The new value of a sealed cell, or undefined when it is empty or already sealed with the primary key. */
function reseal(sealer: Sealer, col: SealedColumn, value: unknown): unknown {
  if (value === null || value === undefined) return undefined
  if (!col.settings) {
    const sealed = value as Buffer
    // a regional number's content is in its region: the home row only references it
    if (isContentReference(sealed)) return undefined
    return sealer.isCurrent(sealed) ? undefined : sealer.seal(sealer.open(sealed))
  }
  const settings = JSON.parse(value as string) as { webhooks?: { sealed?: string } }
  const inner = settings.webhooks?.sealed
  if (inner === undefined) return undefined
  const sealed = Buffer.from(inner, 'base64')
  if (sealer.isCurrent(sealed)) return undefined
  return JSON.stringify({ ...settings, webhooks: { ...settings.webhooks, sealed: sealer.seal(sealer.open(sealed)).toString('base64') } })
}

function selectBatch(db: AnyDb, col: SealedColumn, after: unknown[] | null, limit: number): Promise<Row[]> {
  let q = db.selectFrom(col.table).select([...col.key, col.column]).where(col.column, 'is not', null)
  if (col.names) q = q.where('name', 'in', col.names)
  if (after) q = q.where((eb) => eb.or(col.key.map((k, i) => eb.and([...col.key.slice(0, i).map((p, j) => eb(p, '=', after[j])), eb(k, '>', after[i])]) as Expression<SqlBool>)))
  return col.key.reduce((acc, k) => acc.orderBy(k), q).limit(limit).execute()
}

async function readProgress(db: AnyDb): Promise<Progress | undefined> {
  const row = await db.selectFrom('meta').select('value').where('name', '=', PROGRESS).executeTakeFirst()
  return row ? (JSON.parse(Buffer.from(row.value as Buffer).toString('utf8')) as Progress) : undefined
}

async function writeProgress(database: Database, tx: AnyDb, progress: Progress): Promise<void> {
  await writeMeta(database, tx, PROGRESS, Buffer.from(JSON.stringify(progress), 'utf8'))
}

/** Update, then insert: every engine runs it. */
async function writeMeta(database: Database, db: AnyDb, name: string, value: Buffer): Promise<void> {
  const updated = await db.updateTable('meta').set({ value }).where('name', '=', name).executeTakeFirst()
  if (Number(updated.numUpdatedRows) === 0) await database.engine.insertIgnore(db.insertInto('meta').values({ name, value }), ['name']).execute()
}
