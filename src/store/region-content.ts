import { pooledRandomBytes } from '../ids.js'
import { PURGED_CONTENT } from './retention.js'
import { contentReference, isContentReference, parseContentReference, referencesByRegion, type RegionContentKind, type RegionRow, type RegionStore } from './regions.js'
import type { StoreContext } from './store.js'

/*
 * Data residency on the home side: the content of a number whose WABA is localised in a region
 * is sealed with the region's key and written to the region's database first; the home column
 * keeps only a reference to it (regions.ts).
 */

export interface ContentItem {
  phoneNumberId: string
  kind: RegionContentKind
  /** Unique in the region: derived from the message id; unset, a random one (callbacks). */
  key?: string
  value: unknown
}

/**
 * The home column values for `items`, in order: sealed in place for a number without a region,
 * else written to the region (one statement per batch, committed before the home row) and
 * referenced. Without configured regions this is the plain seal.
 */
export async function sealContent(ctx: StoreContext, items: readonly ContentItem[]): Promise<Buffer[]> {
  const regions = ctx.regions
  if (!regions) return items.map((i) => ctx.sealer.sealJson(i.value))
  const storeOf = new Map<string, RegionStore | undefined>()
  for (const i of items) if (!storeOf.has(i.phoneNumberId)) storeOf.set(i.phoneNumberId, await regions.of(ctx.db, i.phoneNumberId))
  const out: Buffer[] = []
  const writes = new Map<RegionStore, RegionRow[]>()
  for (const i of items) {
    const region = storeOf.get(i.phoneNumberId)
    if (!region) {
      out.push(ctx.sealer.sealJson(i.value))
      continue
    }
    const key = i.key ?? `${i.kind}.${pooledRandomBytes(12).toString('base64url')}`
    const rows = writes.get(region) ?? []
    if (rows.length === 0) writes.set(region, rows)
    rows.push({ key, phoneNumberId: i.phoneNumberId, kind: i.kind, value: region.sealer.sealJson(i.value) })
    out.push(contentReference(region.name, key))
  }
  for (const [region, rows] of writes) await region.put(rows)
  return out
}

/**
 * The values of home columns with references replaced by the region's content, sealed again
 * for this process (callers open them with the home sealer as before). Content a retention
 * purge removed reads as PURGED_CONTENT. One query per region.
 */
export async function resolveContent<T extends Uint8Array | null>(ctx: StoreContext, values: readonly T[]): Promise<T[]> {
  const regions = ctx.regions
  if (!regions || !values.some(isContentReference)) return [...values]
  const wanted = referencesByRegion(values)
  // by key: keys are unique across regions, and a region change moves them as they are
  const found = new Map<string, { from: RegionStore; sealed: Buffer }>()
  for (const [name, keys] of wanted) {
    const region = regions.get(name)
    if (!region) throw new Error(`content is stored in region ${name}, which is not configured here (configured: ${regions.names.join(', ') || 'none'}); add --region ${name}=LOCATION`)
    for (const [key, sealed] of await region.get(keys)) found.set(key, { from: region, sealed })
  }
  // a key missing from its region may have been moved to another one just now
  const missing = [...wanted.values()].flat().filter((k) => !found.has(k))
  for (const name of missing.length > 0 ? regions.names : []) {
    const region = regions.get(name)!
    for (const [key, sealed] of await region.get(missing)) if (!found.has(key)) found.set(key, { from: region, sealed })
  }
  return values.map((v) => {
    if (!isContentReference(v)) return v
    const hit = found.get(parseContentReference(v!).key)
    const plain = hit ? hit.from.sealer.open(hit.sealed) : JSON.stringify(PURGED_CONTENT)
    return ctx.sealer.seal(plain) as unknown as T
  })
}

type Sealed = Uint8Array | null

/** `rows` with the given columns resolved (resolveContent); the same array when none holds a reference. */
export async function withResolved<R extends { [C in K]: Sealed }, K extends keyof R>(ctx: StoreContext, rows: R[], ...columns: K[]): Promise<R[]> {
  if (!ctx.regions || !rows.some((r) => columns.some((c) => isContentReference(r[c])))) return rows
  const out = rows.map((r) => ({ ...r }))
  for (const c of columns) {
    const values = await resolveContent(ctx, rows.map((r) => r[c]))
    out.forEach((r, i) => (r[c] = values[i] as R[K]))
  }
  return out
}
