import net from 'node:net'
import { addressRefusal, isLocalhostName, type UrlPolicy } from './ip-address.js'
import type { ConfigProblem } from './webhook-secrets.js'

/**
 * What a webhook configuration may hold, checked when it is set: a header or URL that could
 * never be delivered is refused then, not dead-lettered callback after callback.
 */

/** The longest webhook URL any API (and the Hub) accepts. */
export const WEBHOOK_URL_MAX_CHARS = 2048

/** Custom headers: room for an API key or a signed token, small enough for any receiver's header limit. */
export const WEBHOOK_HEADER_LIMITS = Object.freeze({ count: 32, nameChars: 256, valueChars: 8192, totalChars: 16_384 })

// RFC 7230 §3.2.6 token; a value is visible ASCII, space and tab (no CR, LF, NUL or other controls)
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const FIELD_VALUE = /^[\t\x20-\x7e]*$/

/** `headers.X-Api-Key`, or `headers["bad name"]` when the name itself is the problem. */
function headerField(field: string, name: string): string {
  return TOKEN.test(name) ? `${field}.${name}` : `${field}[${JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name)}]`
}

/** The first header that cannot be sent, or null. */
export function webhookHeadersProblem(field: string, headers: Record<string, string>): ConfigProblem | null {
  const { count, nameChars, valueChars, totalChars } = WEBHOOK_HEADER_LIMITS
  const names = Object.keys(headers)
  if (names.length > count) return { field, rule: `must hold at most ${count} headers (got ${names.length})` }
  const seen = new Set<string>()
  let total = 0
  for (const [name, value] of Object.entries(headers)) {
    const at = headerField(field, name)
    if (!TOKEN.test(name)) {
      return { field: at, rule: 'is not a valid header name: it must be 1 or more of the RFC 7230 token characters (letters, digits and !#$%&\'*+-.^_`|~), no spaces, colons or control characters' }
    }
    if (name.length > nameChars) return { field: at, rule: `header names must be at most ${nameChars} characters (got ${name.length})` }
    if (seen.has(name.toLowerCase())) return { field: at, rule: 'is given twice (header names are case-insensitive)' }
    seen.add(name.toLowerCase())
    if (!FIELD_VALUE.test(value)) {
      return { field: at, rule: 'must be printable ASCII, spaces and tabs: CR, LF, NUL, other control characters and non-ASCII characters cannot be sent in a header' }
    }
    if (value.length > valueChars) return { field: at, rule: `must be at most ${valueChars} characters (got ${value.length})` }
    total += name.length + value.length
  }
  if (total > totalChars) return { field, rule: `names and values together must be at most ${totalChars} characters (got ${total})` }
  return null
}

/** A URL that passed the checks that need no DNS. */
export interface CheckedWebhookUrl {
  url: string
  /** A host name the caller should resolve and check with `resolvedWebhookHostProblem`; null for an IP literal or localhost. */
  resolve: string | null
  insecure: boolean
}

const SSRF = 'a webhook may not point into the network wabox runs in'

/**
 * The scheme and, when the host is an IP literal or a localhost name, the address, under the
 * same policy the delivery guard applies.
 */
export function checkWebhookUrl(field: string, raw: string, policy: UrlPolicy): CheckedWebhookUrl | ConfigProblem {
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    return { field, rule: 'must be an absolute https:// URL' }
  }
  const https = policy.allowInsecureLoopback ? 'must be an https:// URL (http:// only to loopback in the dev profile)' : 'must be an https:// URL'
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return { field, rule: https }
  const insecure = u.protocol === 'http:'
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1')
  const literal = net.isIP(host) ? host : isLocalhostName(host) ? '127.0.0.1' : null
  if (literal === null) {
    if (insecure) return { field, rule: https }
    return { url: u.toString(), resolve: host, insecure }
  }
  const reason = addressRefusal(literal, insecure, policy)
  if (reason) return { field, rule: insecure && reason.startsWith('not loopback') ? https : `${host} is ${reason}: ${SSRF}` }
  return { url: u.toString(), resolve: null, insecure }
}

/** The refusal of a host name by the addresses it resolves to (any refused address refuses it), or null. */
export function resolvedWebhookHostProblem(field: string, host: string, addresses: readonly string[], policy: UrlPolicy): ConfigProblem | null {
  for (const address of addresses) {
    const reason = addressRefusal(address, false, policy)
    if (reason) return { field, rule: `${host} resolves to ${address}, ${reason}: ${SSRF}` }
  }
  return null
}
