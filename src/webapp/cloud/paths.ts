/**
 * Graph paths: `/{vNN.N}/{id}/…` for any API version, the same paths without a version (Meta
 * serves the oldest version then; SDKs call `/{phone}/calls` so), and a trailing slash (Meta's
 * SDK sets the PIN with `POST /{v}/{id}/`). Routes are registered once, unversioned; the URL is
 * rewritten before routing.
 */

const VERSION = /^\/v\d{1,3}\.\d{1,3}(?=\/|$)/
/** Graph object ids: numbers (phone numbers, WABAs, apps) and media ids (UUIDs). */
const OBJECT_ID = /^\/(?:\d{1,32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?=\/|$)/

/** The Graph API version a path starts with (`v23.0`), if any. */
export function graphVersion(path: string): string | undefined {
  return VERSION.exec(path)?.[0].slice(1)
}

/**
 * A path the Cloud dialect claims for root-level answers (unknown paths, 405, bad framing):
 * versioned, or starting with an object id. Other root paths stay with the dialect of the
 * connection (On-Prem's `/v1`, 360dialog's `/messages`), so each keeps its envelope.
 */
export function isGraphPath(path: string): boolean {
  return VERSION.test(path) || OBJECT_ID.test(path)
}

/** `/v23.0/123/messages/?x=1` → `/123/messages?x=1`; paths that are not Graph paths stay as they are. */
export function unversionedUrl(url: string): string {
  const q = url.indexOf('?')
  const path = q < 0 ? url : url.slice(0, q)
  if (!isGraphPath(path)) return url
  let rest = path.replace(VERSION, '')
  if (rest.length > 1 && rest.endsWith('/')) rest = rest.slice(0, -1)
  return (rest || '/') + (q < 0 ? '' : url.slice(q))
}
