/**
 * The secrets of a webhook configuration: the credentials in the URL and the values of the
 * custom headers. They are answered masked; a client that sends the mask back (GET, edit,
 * POST) keeps the stored secret rather than overwriting it with the mask.
 */

/** What stands in for a secret in answers. */
export const SECRET_MASK = '******'

/** A field of the request that cannot be stored, and why. */
export interface ConfigProblem {
  field: string
  rule: string
}

/** The URL with its password masked; a user name without a password is the credential, so it is masked instead. */
export function maskWebhookUrl(url: string | null): string | null {
  if (url === null) return null
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return url
  }
  if (u.password) u.password = SECRET_MASK
  else if (u.username) u.username = SECRET_MASK
  return u.toString()
}

/** Every header value masked: names say what a header is, values are what authenticates. */
export function maskHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(headers).map((name) => [name, SECRET_MASK]))
}

function credentialIsMask(u: URL): boolean {
  return u.password === SECRET_MASK || (!u.password && u.username === SECRET_MASK)
}

/**
 * The URL to store: `next` as sent, or with the stored credentials put back where `next`
 * carries the mask for the same address.
 */
export function restoreMaskedUrl(field: string, next: string, stored: string | null): string | ConfigProblem {
  const u = new URL(next)
  if (!credentialIsMask(u)) return next
  const old = stored === null ? null : new URL(stored)
  const hasCredentials = old !== null && (old.username !== '' || old.password !== '')
  // a masked password stands for the stored one of the same user at the same address
  const sameTarget = hasCredentials && old.origin === u.origin && (u.password !== SECRET_MASK || old.username === u.username)
  if (!old || !sameTarget) {
    return { field, rule: `carries the mask ${SECRET_MASK} but no credentials are stored for ${u.origin}; send the real credentials` }
  }
  u.username = old.username
  u.password = old.password
  return u.toString()
}

/** The headers to store: `next` as sent, a masked value replaced by the stored value of that header (any case). */
export function restoreMaskedHeaders(field: string, next: Record<string, string>, stored: Record<string, string>): Record<string, string> | ConfigProblem {
  const byName = new Map(Object.entries(stored).map(([name, value]) => [name.toLowerCase(), value]))
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(next)) {
    if (value !== SECRET_MASK) {
      out[name] = value
      continue
    }
    const kept = byName.get(name.toLowerCase())
    if (kept === undefined) return { field: `${field}.${name}`, rule: `is the mask ${SECRET_MASK} but no such header is stored; send the real value` }
    out[name] = kept
  }
  return out
}

export function isConfigProblem(value: unknown): value is ConfigProblem {
  return typeof value === 'object' && value !== null && 'rule' in value && 'field' in value
}
