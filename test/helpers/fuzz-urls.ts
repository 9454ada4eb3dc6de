import fc from 'fast-check'
import type { Schema } from './fuzz-bodies.js'

/** Path parameter values sent as they are: traversal, NUL, bad escapes, wildcards. */
const RAW_PARAMS = [
  '..', '.', '../../etc/passwd', '..%2f..%2fetc%2fpasswd', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', '%2e%2e', '....//....//etc/passwd',
  '..%5c..%5cwindows%5cwin.ini', '%252e%252e%252f', '%00', 'a%00b', '%zz', '%E0%A4%A', '%C0%AE%C0%AE', '%ED%A0%80', '*', '%2F', '%20',
  '-1', '0', '99999999999999999999', '1e3', 'NaN', 'admin%27--', '%F0%9F%98%80', 'e%CC%81%CC%81', '%E2%80%AE',
]

/** encodeURIComponent, which throws on a lone surrogate: that one goes as its WTF-8 bytes. */
function encode(text: string): string {
  try {
    return encodeURIComponent(text)
  } catch {
    return '%ED%A0%80'
  }
}

/** A path parameter: raw attack strings, over-long ids around the router's limit, any Unicode. */
export const pathParam: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...RAW_PARAMS) },
  { weight: 2, arbitrary: fc.integer({ min: 90, max: 6_000 }).map((n) => 'a'.repeat(n)) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map(encode) },
)

export interface QueryParam {
  name: string
  schema: Schema
}

const queryValue = (known: QueryParam[]): fc.Arbitrary<string> => fc.oneof(
  fc.constantFrom(...known.flatMap((q) => (q.schema.enum ?? []).map(String)), 'json', 'prometheus', '1', '-1', ''),
  fc.constantFrom('%zz', '%E0%A4%A', '%00', '%C3%28', '[]', '%5B%5D'),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encode),
  fc.integer({ min: 1_000, max: 12_000 }).map((n) => 'q'.repeat(n)),
)

/** A query string of the route's own parameters and others, repeated, prototype-named or malformed. */
export function queryFor(known: QueryParam[]): fc.Arbitrary<string> {
  const name = fc.oneof(
    fc.constantFrom(...known.map((q) => q.name), '__proto__', 'constructor[prototype]', 'a[]', ''),
    fc.string({ unit: 'binary', maxLength: 8 }).map(encode),
  )
  return fc.array(fc.tuple(name, queryValue(known)), { maxLength: 4 })
    .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''))
}
