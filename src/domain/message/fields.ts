import { invalid, missing } from '../../errors/index.js'
import { MAX_NESTING_DEPTH, pathTooDeep } from './limits.js'
import type { LocationObject } from './outbound.js'

/** Small readers for hand-validated bodies: each names the field path in its error. */
export type Obj = Record<string, unknown>

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Length in characters (code points), as users count them. */
export function charLength(s: string): number {
  let n = 0
  for (const _ of s) n++
  return n
}

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`
  return path ? `${path}.${key}` : key
}

/** Keys longer than this are cut in error details: a path names the field, it need not echo the input. */
const KEY_SHOWN = 32

/**
 * 1009 naming the first object or array in `value` nested deeper than MAX_NESTING_DEPTH levels
 * (`value` is level 1), before anything walks it recursively (JSON, MessagePack, the sealer).
 */
export function checkNesting(value: unknown, path: string): void {
  const deep = pathTooDeep(value, MAX_NESTING_DEPTH)
  if (!deep) return
  const field = deep.reduce<string>((at, key) => join(at, typeof key === 'string' && key.length > KEY_SHOWN ? `${key.slice(0, KEY_SHOWN)}…` : key), path)
  throw invalid(field, `objects and arrays may nest at most ${MAX_NESTING_DEPTH} levels deep`)
}

function absent(v: unknown): boolean {
  return v === undefined || v === null
}

export function reqObject(o: Obj, key: string, path: string): Obj {
  const v = o[key]
  if (absent(v)) throw missing(join(path, key))
  if (!isObject(v)) throw invalid(join(path, key), 'must be an object')
  return v
}

export function optObject(o: Obj, key: string, path: string): Obj | undefined {
  return absent(o[key]) ? undefined : reqObject(o, key, path)
}

/**
 * Length limits of a string field, and a pattern only with a `max`: the pattern is tested on a
 * string already within it, so no pattern work is spent on unbounded input.
 */
export type StringRule =
  | { min?: number; max?: number; pattern?: never; rule?: never }
  /** `rule`: words for the pattern, e.g. "6 digits". */
  | { min?: number; max: number; pattern: RegExp; rule: string }

function checkString(v: unknown, field: string, r: StringRule): string {
  if (typeof v !== 'string') throw invalid(field, 'must be a string')
  const len = charLength(v)
  const min = r.min ?? 1
  if (len < min) throw invalid(field, min === 1 ? 'must not be empty' : `must be at least ${min} characters`)
  if (r.max !== undefined && len > r.max) throw invalid(field, `must be at most ${r.max} characters (got ${len})`)
  if (r.pattern && !r.pattern.test(v)) throw invalid(field, r.rule)
  return v
}

export function reqString(o: Obj, key: string, path: string, r: StringRule = {}): string {
  const v = o[key]
  if (absent(v)) throw missing(join(path, key))
  return checkString(v, join(path, key), r)
}

export function optString(o: Obj, key: string, path: string, r: StringRule = {}): string | undefined {
  return absent(o[key]) ? undefined : checkString(o[key], join(path, key), { min: 0, ...r })
}

export function optBoolean(o: Obj, key: string, path: string): boolean | undefined {
  const v = o[key]
  if (absent(v)) return undefined
  if (typeof v !== 'boolean') throw invalid(join(path, key), 'must be true or false')
  return v
}

export function reqEnum<T extends string>(o: Obj, key: string, path: string, values: readonly T[]): T {
  const v = o[key]
  if (absent(v)) throw missing(join(path, key))
  if (typeof v !== 'string' || !values.includes(v as T)) {
    throw invalid(join(path, key), `must be one of ${values.map((x) => `"${x}"`).join(', ')}`)
  }
  return v as T
}

export function optEnum<T extends string>(o: Obj, key: string, path: string, values: readonly T[]): T | undefined {
  return absent(o[key]) ? undefined : reqEnum(o, key, path, values)
}

export function reqArray(o: Obj, key: string, path: string, min = 0, max = Infinity): unknown[] {
  const v = o[key]
  if (absent(v)) throw missing(join(path, key))
  if (!Array.isArray(v)) throw invalid(join(path, key), 'must be an array')
  if (v.length < min || v.length > max) {
    throw invalid(join(path, key), max === Infinity ? `must hold at least ${min} item(s)` : `must hold ${min} to ${max} items (got ${v.length})`)
  }
  return v
}

export function optArray(o: Obj, key: string, path: string, min = 0, max = Infinity): unknown[] | undefined {
  return absent(o[key]) ? undefined : reqArray(o, key, path, min, max)
}

/** Each array element as an object, or 1009 naming its index. */
export function objects(items: unknown[], path: string): Obj[] {
  return items.map((item, i) => {
    if (!isObject(item)) throw invalid(join(path, i), 'must be an object')
    return item
  })
}

export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s)
    return u.protocol === 'https:' || u.protocol === 'http:'
  } catch {
    return false
  }
}

function coordinate(o: Obj, key: 'latitude' | 'longitude', path: string): number {
  const v = o[key]
  if (v === undefined || v === null || v === '') throw missing(join(path, key))
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN
  const limit = key === 'latitude' ? 90 : 180
  if (!Number.isFinite(n) || Math.abs(n) > limit) throw invalid(join(path, key), `must be a number from -${limit} to ${limit}`)
  return n
}

/** A location object; coordinates may come as numbers or numeric strings (On-Prem examples use strings). */
export function validateLocation(o: Obj, path: string): LocationObject {
  const out: LocationObject = { latitude: coordinate(o, 'latitude', path), longitude: coordinate(o, 'longitude', path) }
  const name = optString(o, 'name', path, { max: 1000 })
  const address = optString(o, 'address', path, { max: 1000 })
  if (name !== undefined) out.name = name
  if (address !== undefined) out.address = address
  return out
}
