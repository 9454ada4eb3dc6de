import dns from 'node:dns'
import net from 'node:net'

/**
 * Server-side request forgery guard: a webhook URL may not reach into the network wabox runs
 * in. The check runs inside the socket's DNS lookup, so the address connected to is the
 * address checked (a DNS rebind between check and connect cannot happen).
 */
export interface UrlPolicy {
  /** Dev profile: `http://` to loopback, and loopback addresses at all. */
  allowInsecureLoopback: boolean
  /** Private, loopback and link-local addresses (a webhook receiver on the LAN). */
  allowPrivateNetworks: boolean
}

export type AddressKind = 'public' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'multicast' | 'reserved'

export class WebhookUrlRefused extends Error {
  override readonly name = 'WebhookUrlRefused'
  readonly code = 'EWABOX_WEBHOOK_URL_REFUSED'
}

export interface WebhookTarget {
  /** The URL without credentials. */
  url: URL
  /** `Basic …` from credentials in the URL, if any. */
  authorization?: string
  /** `http://`: allowed only to loopback with allowInsecureLoopback. */
  insecure: boolean
}

const V4_RANGES: readonly [string, number, AddressKind][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private'], // carrier-grade NAT
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'], // cloud metadata endpoints live here
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'private'],
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
]

function v4ToInt(address: string): number {
  return address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0)
}

function classifyV4(value: number): AddressKind {
  for (const [base, prefix, kind] of V4_RANGES) {
    const size = 2 ** (32 - prefix)
    if (Math.floor(value / size) === Math.floor(v4ToInt(base) / size)) return kind
  }
  return 'public'
}

/** Eight 16-bit groups of an IPv6 address (zone id dropped, embedded dotted quad expanded). */
function v6Groups(address: string): number[] {
  let text = address.split('%')[0] ?? ''
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted?.[1]) {
    const v = v4ToInt(dotted[1])
    text = text.slice(0, -dotted[1].length) + `${Math.floor(v / 65536).toString(16)}:${(v % 65536).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)))
  const left = parse(head)
  const right = tail === undefined ? [] : parse(tail)
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
}

function classifyV6(address: string): AddressKind {
  const g = v6Groups(address)
  const at = (i: number) => g[i] ?? 0
  const v4 = (hi: number, lo: number) => classifyV4(hi * 65536 + lo)
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0)
  if (zeroUpTo(8)) return 'unspecified'
  if (zeroUpTo(7) && at(7) === 1) return 'loopback'
  if (zeroUpTo(5) && at(5) === 0xffff) return v4(at(6), at(7)) // IPv4-mapped
  if (zeroUpTo(6)) return v4(at(6), at(7)) // IPv4-compatible (deprecated)
  if (at(0) === 0x64 && at(1) === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4(at(6), at(7)) // NAT64
  if (at(0) === 0x2002) return v4(at(1), at(2)) // 6to4
  if ((at(0) & 0xffc0) === 0xfe80) return 'link-local'
  if ((at(0) & 0xffc0) === 0xfec0 || (at(0) & 0xfe00) === 0xfc00) return 'private'
  if ((at(0) & 0xff00) === 0xff00) return 'multicast'
  if (at(0) === 0x2001 && at(1) === 0x0db8) return 'reserved'
  return 'public'
}

/** What kind of network an IP address (v4 or v6) belongs to. */
export function classifyAddress(address: string): AddressKind {
  const version = net.isIP(address)
  if (version === 4) return classifyV4(v4ToInt(address))
  if (version === 6) return classifyV6(address)
  throw new TypeError(`not an IP address: ${address}`)
}

/** The URL as it may be logged: no credentials. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw)
    url.username = ''
    url.password = ''
    return url.toString()
  } catch {
    return '<invalid URL>'
  }
}

/**
 * Why connecting to `address` is refused ("a loopback address (…)"), or null when allowed.
 * Callers prefix it with the address: "10.0.0.1 is …" or "it resolves to 10.0.0.1, …".
 */
export function addressRefusal(address: string, insecure: boolean, policy: UrlPolicy): string | null {
  const kind = classifyAddress(address)
  if (kind === 'unspecified' || kind === 'multicast' || kind === 'reserved') return `a ${kind} address`
  if (kind === 'loopback' && !policy.allowInsecureLoopback && !policy.allowPrivateNetworks) {
    return 'a loopback address (allowInsecureLoopback and allowPrivateNetworks are off)'
  }
  if ((kind === 'private' || kind === 'link-local') && !policy.allowPrivateNetworks) {
    return `a ${kind} address (allowPrivateNetworks is off)`
  }
  if (insecure && !(kind === 'loopback' && policy.allowInsecureLoopback)) {
    return 'not loopback, and plain http:// is only allowed to loopback in the dev profile; use https://'
  }
  return null
}

/**
 * Parses and checks what can be checked before connecting: the scheme, and the address when
 * the host is an IP literal (sockets skip the DNS lookup for those).
 */
export function parseWebhookUrl(raw: string, policy: UrlPolicy): WebhookTarget {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new WebhookUrlRefused(`webhook URL refused: ${JSON.stringify(raw)} is not a valid URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new WebhookUrlRefused(`webhook URL ${redactUrl(raw)} refused: only https:// is supported`)
  }
  const insecure = url.protocol === 'http:'
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  if (net.isIP(host)) {
    const reason = addressRefusal(host, insecure, policy)
    if (reason) throw new WebhookUrlRefused(`webhook URL ${redactUrl(raw)} refused: ${host} is ${reason}`)
  } else if (insecure && !policy.allowInsecureLoopback) {
    throw new WebhookUrlRefused(`webhook URL ${redactUrl(raw)} refused: HTTPS is required`)
  }
  const target: WebhookTarget = { url: new URL(redactUrl(raw)), insecure }
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username)
    const pass = decodeURIComponent(url.password)
    target.authorization = 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64')
  }
  return target
}

export type Resolver = (hostname: string) => Promise<dns.LookupAddress[]>

export const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true })

/**
 * A `lookup` for net/tls connect that resolves, refuses the host if any address it resolves
 * to is refused, and hands the socket exactly the addresses it checked.
 */
export function guardedLookup(insecure: boolean, policy: UrlPolicy, resolve: Resolver = systemResolver): net.LookupFunction {
  return (host, options, callback) => {
    resolve(host).then((all) => {
      const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family
      const addresses = family === 4 || family === 6 ? all.filter((a) => a.family === family) : all
      if (addresses.length === 0) throw Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' })
      for (const a of addresses) {
        const reason = addressRefusal(a.address, insecure, policy)
        if (reason) throw new WebhookUrlRefused(`webhook host ${host} refused: it resolves to ${a.address}, ${reason}`)
      }
      const first = addresses[0] as dns.LookupAddress
      if (options.all) callback(null, addresses)
      else callback(null, first.address, first.family)
    }).catch((err: NodeJS.ErrnoException) => callback(err, ''))
  }
}

/** The same check, done before a request when the connection cannot be pinned (injected dispatcher). */
export async function checkHost(hostname: string, insecure: boolean, policy: UrlPolicy, resolve: Resolver = systemResolver): Promise<void> {
  if (net.isIP(hostname)) return
  for (const a of await resolve(hostname)) {
    const reason = addressRefusal(a.address, insecure, policy)
    if (reason) throw new WebhookUrlRefused(`webhook host ${hostname} refused: it resolves to ${a.address}, ${reason}`)
  }
}
