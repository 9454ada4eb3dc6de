import fs from 'node:fs'
import path from 'node:path'
import { sql } from 'kysely'
import { contentReference, isContentReference, parseContentReference, referencesByRegion, type RegionContentKind, type RegionRow, type RegionStore } from './regions.js'
import type { StoreContext } from './store.js'

/** A home column holding content, and how its region key is named. */
interface ContentColumn {
  table: 'messages' | 'callbacks'
  column: 'content' | 'callback_data' | 'payload'
  kind: RegionContentKind
  /** The key of a value sealed at home (it had none): as sealContent names it. */
  keyOf(row: { id: string | null; seq: number }): string
}

const COLUMNS: ContentColumn[] = [
  { table: 'messages', column: 'content', kind: 'content', keyOf: (r) => r.id! },
  { table: 'messages', column: 'callback_data', kind: 'callback_data', keyOf: (r) => `${r.id!}:echo` },
  { table: 'callbacks', column: 'payload', kind: 'callback', keyOf: (r) => `callback.moved.${r.seq}` },
]

export interface MoveReport {
  /** Values copied to the new region (a row changed meanwhile keeps its value; its copy is an orphan retention removes). */
  rows: number
  mediaFiles: number
  /** Copies left in another region by a move killed between switching references and deleting them, now deleted. */
  leftovers: number
}

/**
 * Moves a number's content to region `to`, `batch` rows at a time: each batch is written to
 * `to` (one statement), then each home row is switched to its new reference only if it still
 * holds the old value, then the old copies are deleted. Readers meanwhile resolve either
 * reference (a key missing from its region is looked up in the others). Call it once the
 * number's writers use `to` (the WABA's region changed), so nothing new lands behind it.
 * Repeatable: a value already in `to` is skipped, and what a killed move left in another
 * region after switching its reference is deleted.
 */
export async function moveNumberContent(ctx: StoreContext, phoneNumberId: string, to: RegionStore, batch: number, homeMediaRoot?: string): Promise<MoveReport> {
  const report = { rows: 0, mediaFiles: 0, leftovers: 0 }
  for (const col of COLUMNS) {
    let after = -1
    for (;;) {
      const rows = await selectBatch(ctx, col, phoneNumberId, after, batch)
      if (rows.length === 0) break
      after = rows[rows.length - 1]!.seq
      report.rows += await moveBatch(ctx, col, phoneNumberId, rows, to)
      if (rows.length < batch) break
    }
  }
  report.mediaFiles = await moveMedia(ctx, phoneNumberId, to, homeMediaRoot)
  report.leftovers = await dropLeftovers(ctx, phoneNumberId, to, batch)
  return report
}

/**
 * Deletes the number's rows in other regions that `to` holds too and no home row references
 * where they are: the copies of a move killed after switching references. A row only in its
 * region stays: it may be a write whose home row has not committed yet.
 */
async function dropLeftovers(ctx: StoreContext, phoneNumberId: string, to: RegionStore, batch: number): Promise<number> {
  const regions = ctx.regions!
  let dropped = 0
  for (const name of regions.names) {
    const from = regions.get(name)!
    if (from === to) continue
    let after = ''
    for (;;) {
      const rows = await from.page(phoneNumberId, after, batch)
      if (rows.length === 0) break
      after = rows[rows.length - 1]!.key
      const copied = await to.get(rows.map((r) => r.key))
      const candidates = rows.filter((r) => copied.has(r.key))
      const referenced = await referencedIn(ctx, phoneNumberId, name, candidates)
      const gone = candidates.filter((r) => !referenced.has(r.key)).map((r) => r.key)
      await from.delete(gone)
      dropped += gone.length
      if (rows.length < batch) break
    }
  }
  return dropped
}

/** The keys of `rows` that a home row of the number references in region `name`. */
async function referencedIn(ctx: StoreContext, phoneNumberId: string, name: string, rows: readonly RegionRow[]): Promise<Set<string>> {
  const out = new Set<string>()
  const db = ctx.db.withTables<Record<string, Record<string, unknown>>>()
  for (const col of COLUMNS) {
    const refs = rows.filter((r) => r.kind === col.kind).map((r) => contentReference(name, r.key))
    if (refs.length === 0) continue
    const found = await db.selectFrom(col.table).select(`${col.column} as value`).where('phone_number_id', '=', phoneNumberId).where(col.column, 'in', refs).execute()
    for (const f of found) out.add(parseContentReference(f.value as Buffer).key)
  }
  return out
}

type Row = { seq: number; id: string | null; value: Buffer | null }

async function selectBatch(ctx: StoreContext, col: ContentColumn, phoneNumberId: string, after: number, limit: number): Promise<Row[]> {
  const db = ctx.db.withTables<Record<string, Record<string, unknown>>>()
  const rows = await db.selectFrom(col.table).select(['seq', col.table === 'messages' ? 'id' : 'seq as id', `${col.column} as value`])
    .where('phone_number_id', '=', phoneNumberId).where('seq', '>', after).orderBy('seq').limit(limit).execute()
  return rows.map((r) => ({ seq: Number(r.seq), id: r.id === null ? null : String(r.id), value: (r.value as Buffer | null) ?? null }))
}

async function moveBatch(ctx: StoreContext, col: ContentColumn, phoneNumberId: string, rows: Row[], to: RegionStore): Promise<number> {
  const regions = ctx.regions!
  const moving = rows.filter((r) => r.value !== null && !(isContentReference(r.value) && parseContentReference(r.value).region === to.name))
  if (moving.length === 0) return 0
  // the plaintext of each value, from its region or from home
  const old = referencesByRegion(moving.map((r) => r.value))
  const found = new Map<string, Map<string, Buffer>>()
  for (const [name, keys] of old) found.set(name, await regions.get(name)?.get(keys) ?? new Map())
  const writes: RegionRow[] = []
  const switches: { row: Row; ref: Buffer }[] = []
  for (const r of moving) {
    let key: string
    let plain: Buffer
    if (isContentReference(r.value)) {
      const ref = parseContentReference(r.value!)
      const sealed = found.get(ref.region)?.get(ref.key)
      const from = regions.get(ref.region)
      if (!sealed || !from) continue // purged meanwhile, or in a region not configured: left as it is
      key = ref.key
      plain = from.sealer.open(sealed)
    } else {
      key = col.keyOf(r)
      plain = ctx.sealer.open(r.value!)
    }
    writes.push({ key, phoneNumberId, kind: col.kind, value: to.sealer.seal(plain) })
    switches.push({ row: r, ref: contentReference(to.name, key) })
  }
  await to.put(writes)
  // one statement: each row takes its new reference only if it still holds the value read
  const column = sql.ref(col.column)
  const next = sql`case ${sql.join(switches.map((s) => sql`when seq = ${s.row.seq} and ${column} = ${s.row.value} then ${s.ref}`), sql` `)} else ${column} end`
  await ctx.db.withTables<Record<string, Record<string, unknown>>>().updateTable(col.table).set({ [col.column]: next })
    .where('seq', 'in', switches.map((s) => s.row.seq)).execute()
  for (const [name, keys] of old) if (name !== to.name) await regions.get(name)?.delete(keys)
  return switches.length
}

/**
 * Moves the number's media files under `to`'s media root and renames their rows: files of
 * another region, and those on the main volume when its root (`homeMediaRoot`) is given.
 */
async function moveMedia(ctx: StoreContext, phoneNumberId: string, to: RegionStore, homeMediaRoot: string | undefined): Promise<number> {
  const regions = ctx.regions!
  const rows = await ctx.db.selectFrom('media').select(['id', 'file']).where('phone_number_id', '=', phoneNumberId).execute()
  let moved = 0
  for (const r of rows) {
    const regional = r.file.startsWith('@')
    const slash = regional ? r.file.indexOf('/') : -1
    const rel = r.file.slice(slash + 1)
    const from = regional ? regions.get(r.file.slice(1, slash))?.mediaRoot : homeMediaRoot
    if (from === to.mediaRoot) {
      // a move killed after renaming the row left the old file: the name is the media id's own
      for (const other of [homeMediaRoot, ...regions.names.map((n) => regions.get(n)!.mediaRoot)]) {
        if (other !== undefined && other !== to.mediaRoot) await fs.promises.rm(path.join(other, rel), { force: true })
      }
      continue
    }
    if (from === undefined) continue // a region not configured here, or home media without the volume's root
    const target = path.join(to.mediaRoot, rel)
    await fs.promises.mkdir(path.dirname(target), { recursive: true, mode: 0o700 })
    try {
      await fs.promises.copyFile(path.join(from, rel), target)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue // deleted meanwhile (retention, DELETE /media)
      throw err
    }
    const result = await ctx.db.updateTable('media').set({ file: `@${to.name}/${rel}` }).where('id', '=', r.id).where('file', '=', r.file).executeTakeFirst()
    if (Number(result.numUpdatedRows) > 0) {
      await fs.promises.rm(path.join(from, rel), { force: true })
      moved++
    }
  }
  return moved
}
