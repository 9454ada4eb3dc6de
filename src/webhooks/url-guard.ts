import dns from 'node:dns'
import net from 'node:net'
import { addressRefusal, type UrlPolicy } from '../domain/ip-address.js'

/*
 * Server-side request forgery guard: a webhook URL may not reach into the network wabox runs
 * in. The check runs inside the socket's DNS lookup, so the address connected to is the
 * address checked (a DNS rebind between check and connect cannot happen). Which addresses
 * are refused is decided in domain/ip-address.ts, which the configuration check shares.
 */

export { addressRefusal, classifyAddress, type AddressKind, type UrlPolicy } from '../domain/ip-address.js'

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
