/**
 * Graph paths: `/{vNN.N}/{id}/…` for any API version, the same paths without a version (Meta
 * serves the oldest version then; SDKs call `/{phone}/calls` so), and a trailing slash (Meta's
 * SDK sets the PIN with `POST /{v}/{id}/`). Routes are registered once, unversioned; the URL is
 * rewritten before routing.
 */

const VERSION = /^\/v\d{1,3}\.\d{1,3}(?=\/|$)/
/** What the On-Premises API serves: `/v1`, and the `/docs` and `/metrics` it always had. */
const ON_PREM = /^\/(?:v1|docs|metrics)(?:\/|$)/

/** The Graph API version a path starts with (`v23.0`), if any. */
export function graphVersion(path: string): string | undefined {
  return VERSION.exec(path)?.[0].slice(1)
}

/**
 * A path of the Cloud dialect, whose errors (unknown paths, 405, bad framing) answer the Graph
 * envelope: Meta's paths have no prefix, so every root path but On-Prem's. A bare `/`, `//…`
 * and targets that are no path (`*`, absolute URLs) are nobody's and keep the default.
 */
export function isGraphPath(path: string): boolean {
  return /^\/[^/]/.test(path) && !ON_PREM.test(path)
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
