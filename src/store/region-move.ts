import fs from 'node:fs'
import path from 'node:path'
import { sql } from 'kysely'
import { contentReference, isContentReference, parseContentReference, type RegionContentKind, type RegionRow, type RegionStore } from './regions.js'
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
}

/**
 * Moves a number's content to region `to`, `batch` rows at a time: each batch is written to
 * `to` (one statement), then each home row is switched to its new reference only if it still
 * holds the old value, then the old copies are deleted. Readers meanwhile resolve either
 * reference (a key missing from its region is looked up in the others). Call it once the
 * number's writers use `to` (the WABA's region changed), so nothing new lands behind it.
 */
export async function moveNumberContent(ctx: StoreContext, phoneNumberId: string, to: RegionStore, batch: number): Promise<MoveReport> {
  const report = { rows: 0, mediaFiles: 0 }
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
  report.mediaFiles = await moveMedia(ctx, phoneNumberId, to)
  return report
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
  const old = new Map<string, string[]>()
  for (const r of moving) {
    if (!isContentReference(r.value)) continue
    const ref = parseContentReference(r.value!)
    const keys = old.get(ref.region) ?? []
    if (keys.length === 0) old.set(ref.region, keys)
    keys.push(ref.key)
  }
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

/** Moves the number's media files (home or another region's) under `to`'s media root and renames their rows. */
async function moveMedia(ctx: StoreContext, phoneNumberId: string, to: RegionStore): Promise<number> {
  const regions = ctx.regions!
  const rows = await ctx.db.selectFrom('media').select(['id', 'file']).where('phone_number_id', '=', phoneNumberId).execute()
  let moved = 0
  for (const r of rows) {
    if (!r.file.startsWith('@')) continue // home media: the volume's root is not known here, it stays
    const slash = r.file.indexOf('/')
    const from = regions.get(r.file.slice(1, slash))
    if (!from || from.name === to.name) continue
    const rel = r.file.slice(slash + 1)
    const target = path.join(to.mediaRoot, rel)
    await fs.promises.mkdir(path.dirname(target), { recursive: true, mode: 0o700 })
    await fs.promises.copyFile(path.join(from.mediaRoot, rel), target)
    const result = await ctx.db.updateTable('media').set({ file: `@${to.name}/${rel}` }).where('id', '=', r.id).where('file', '=', r.file).executeTakeFirst()
    if (Number(result.numUpdatedRows) > 0) {
      await fs.promises.rm(path.join(from.mediaRoot, rel), { force: true })
      moved++
    }
  }
  return moved
}
