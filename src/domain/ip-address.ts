import net from 'node:net'

/**
 * Which networks a webhook may reach, by address: the one classification both the
 * configuration check (webapp) and the delivery guard (webhooks/url-guard.ts) apply.
 */
export interface UrlPolicy {
  /** Dev profile: `http://` to loopback, and loopback addresses at all. */
  allowInsecureLoopback: boolean
  /** Private, loopback and link-local addresses (a webhook receiver on the LAN). */
  allowPrivateNetworks: boolean
}

export type AddressKind = 'public' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'multicast' | 'reserved'

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

/** `localhost` and names under `.localhost` are loopback by definition (RFC 6761), whatever DNS says. */
export function isLocalhostName(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '')
  return host === 'localhost' || host.endsWith('.localhost')
}
