import fc from 'fast-check'

/**
 * Generators of hostile request bodies for the fuzz suite. Big values are generated as small
 * recipes (Huge, Deep) and only built when the body is serialised, so a failing case prints
 * in a line instead of megabytes.
 */

/** The JSON Schema subset the OpenAPI document of the app uses. */
export interface Schema {
  type?: string | string[]
  properties?: Record<string, Schema>
  items?: Schema
  enum?: unknown[]
  anyOf?: Schema[]
  oneOf?: Schema[]
  pattern?: string
  minimum?: number
  maximum?: number
  maxLength?: number
}

/** A string of `count` times `unit`. */
export class Huge {
  constructor(readonly unit: string, readonly count: number) {}
  build(): string {
    return this.unit.repeat(this.count)
  }
  [fc.toStringMethod](): string {
    return `Huge(${JSON.stringify(this.unit)} × ${this.count})`
  }
}

/** A value nested `depth` levels deep: {"a":{"a":…}} or [[…]]. */
export class Deep {
  constructor(readonly depth: number, readonly kind: 'object' | 'array') {}
  build(): string {
    return this.kind === 'object' ? `${'{"a":'.repeat(this.depth)}1${'}'.repeat(this.depth)}` : `${'['.repeat(this.depth)}${']'.repeat(this.depth)}`
  }
  [fc.toStringMethod](): string {
    return `Deep(${this.depth}, ${this.kind})`
  }
}

/** Strings that broke parsers, validators and databases elsewhere. */
const NASTY = [
  '', ' ', '\u0000', 'a\u0000b', '😀', '👨‍👩‍👧‍👦', '𝔸𝔹ℂ', 'e\u0301\u0302\u0303\u0304', '\u202eevil\u202c', 'مرحبا بالعالم', 'שלום',
  '\ud800', '\udfff', 'a\ud800b', '\udc00\ud800', '\ufeff', '\u2028\u2029', '../../etc/passwd', '%00', '${7*7}', '<script>alert(1)</script>',
  "' OR 1=1 --", 'null', 'true', '1e309', '-0', '\r\nX-Injected: 1', 'https://169.254.169.254/latest/meta-data', '+1 (555) 010-0000',
]

/** Huge strings: 100 KB and more, of plain, astral, combining, surrogate, NUL and RTL units. */
export const hugeString: fc.Arbitrary<Huge> = fc.tuple(
  fc.constantFrom('a', '😀', 'e\u0301', '\u0301', '\ud800', '\u0000', 'ab\u202e', ' '),
  fc.integer({ min: 100_000, max: 400_000 }),
).map(([unit, count]) => new Huge(unit, count))

export const nastyString: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: hugeString },
)

export const deepValue: fc.Arbitrary<Deep> = fc.tuple(fc.constantFrom(150, 1_000, 5_000), fc.constantFrom('object' as const, 'array' as const))
  .map(([depth, kind]) => new Deep(depth, kind))

const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(), fc.double(), fc.boolean(), fc.constant(null), nastyString, fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
)

/** Field names of message objects, so free-form parts (text, contacts, interactive…) get probed too. */
const MESSAGE_KEYS = [
  'body', 'text', 'emoji', 'message_id', 'id', 'link', 'caption', 'filename', 'name', 'formatted_name', 'first_name', 'contacts', 'phones',
  'phone', 'emails', 'addresses', 'urls', 'org', 'action', 'buttons', 'button', 'sections', 'rows', 'title', 'header', 'footer', 'type',
  'parameters', 'components', 'language', 'code', 'policy', 'namespace', 'latitude', 'longitude', 'preview_url', 'reply', 'wa_id',
]

const freeForm: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.object({ key: fc.constantFrom(...MESSAGE_KEYS), maxDepth: 3, maxKeys: 4, values: [nastyString, fc.integer(), fc.boolean()] }) },
  { weight: 1, arbitrary: deepValue },
  { weight: 1, arbitrary: wrongType },
)

/** Something of roughly the right shape: a valid value, or one that breaks a single rule. */
function validish(schema: Schema, depth: number): fc.Arbitrary<unknown> {
  if (schema.enum?.length) return fc.constantFrom(...schema.enum)
  const alternatives = schema.anyOf ?? schema.oneOf
  if (alternatives?.length) return fc.oneof(...alternatives.map((s) => validish(s, depth)))
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  switch (type) {
    case 'string':
      return schema.pattern ? fc.oneof(fc.stringMatching(new RegExp(schema.pattern)), fc.string()) : fc.string({ maxLength: schema.maxLength ?? 30 })
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 })
    case 'number':
      return fc.double()
    case 'boolean':
      return fc.boolean()
    case 'array':
      return depth > 3 ? fc.constant([]) : fc.array(valueFor(schema.items ?? {}, depth + 1), { maxLength: 4 })
    case 'object':
      return depth > 3 ? fc.constant({}) : objectFor(schema, depth + 1)
    default:
      return freeForm
  }
}

/** Mostly the right shape; sometimes a wrong type, a nasty or huge string, or deep nesting. */
export function valueFor(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 5, arbitrary: validish(schema, depth) },
    { weight: 1, arbitrary: wrongType },
    { weight: 1, arbitrary: nastyString },
    { weight: 1, arbitrary: deepValue },
  )
}

/**
 * An object after `schema`: any field may be missing, unknown fields (`__proto__` too) may be
 * added, and an object typed by a `type` enum gets the object that type names (as messages do).
 */
function objectFor(schema: Schema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const props = Object.entries(schema.properties ?? {})
  const known = fc.record(Object.fromEntries(props.map(([k, s]) => [k, valueFor(s, depth)])), { requiredKeys: [] })
  const unknown = fc.dictionary(fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor', '')), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 })
  const types = (schema.properties?.type?.enum ?? []).filter((t): t is string => typeof t === 'string')
  const companion = types.length ? fc.tuple(fc.constantFrom(...types), freeForm).map(([t, v]) => ({ type: t, [t]: v })) : fc.constant({})
  return fc.tuple(known, unknown, companion, fc.nat(3)).map(([k, u, c, mix]) => (mix === 0 ? { ...u, ...k } : mix === 1 ? { ...k, ...c } : k))
}

/** A request body: schema-shaped, of a wrong type, deeply nested, or not JSON at all. */
export function bodyFor(schema: Schema | undefined): fc.Arbitrary<unknown> {
  const junk = fc.oneof(
    fc.constantFrom('{"to":', '[', '{"a":1,}', '{"a":01}', "{'a':1}", '\u0000', '{"a":"\\ud800"}', '{"a":1}{"b":2}', 'null', ''),
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes)),
  ).map((raw) => new RawBody(raw))
  return fc.oneof(
    { weight: 6, arbitrary: schema ? valueFor(schema) : wrongType },
    { weight: 1, arbitrary: wrongType },
    { weight: 1, arbitrary: deepValue },
    { weight: 1, arbitrary: junk },
  )
}

/** Bytes sent as they are, not as JSON. */
export class RawBody {
  constructor(readonly raw: string | Buffer) {}
  [fc.toStringMethod](): string {
    return `RawBody(${JSON.stringify(typeof this.raw === 'string' ? this.raw : this.raw.toString('hex'))})`
  }
}

const DEEP_MARK = /"\\u0001deep:(\d+):(object|array)\\u0001"/g

/** The body as sent: JSON text with the recipes built, or the raw bytes. */
export function serialise(body: unknown): string | Buffer {
  if (body instanceof RawBody) return body.raw
  if (body instanceof Deep) return body.build()
  const text = JSON.stringify(body, (_key, value: unknown) =>
    value instanceof Huge ? value.build() : value instanceof Deep ? `\u0001deep:${value.depth}:${value.kind}\u0001` : value) ?? 'null'
  return text.replace(DEEP_MARK, (_m, depth: string, kind: 'object' | 'array') => new Deep(Number(depth), kind).build())
}
