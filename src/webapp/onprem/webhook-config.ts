import type { ApplicationSettings } from '../../domain/settings.js'
import {
  isConfigProblem, maskHeaders, maskWebhookUrl, restoreMaskedHeaders, restoreMaskedUrl, type ConfigProblem,
} from '../../domain/webhook-secrets.js'
import type { WebContext } from '../context.js'
import { invalid } from '../errors.js'

type Webhooks = ApplicationSettings['webhooks']

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** A webhook URL: https://, or http:// to a loopback host when allowed (dev profile). */
export function checkWebhookUrl(field: string, url: string, allowInsecure: boolean): string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw invalid(field, 'must be an absolute https:// URL')
  }
  if (u.protocol === 'https:') return u.toString()
  if (u.protocol === 'http:' && allowInsecure && LOOPBACK.has(u.hostname)) return u.toString()
  throw invalid(field, allowInsecure ? 'must be an https:// URL (http:// only to localhost)' : 'must be an https:// URL')
}

function accepted<T>(value: T | ConfigProblem): T {
  if (isConfigProblem(value)) throw invalid(value.field, value.rule)
  return value
}

/** What a request may change of the webhook; `prefix` names its fields in errors ('' or 'webhooks.'). */
export interface WebhookChange {
  url?: string | null
  headers?: Record<string, string>
}

/**
 * The URL and headers to store: checked, and where the client sent back the mask of a stored
 * secret, that secret. Absent fields are absent from the result.
 */
export function checkedWebhookChange(ctx: WebContext, prefix: string, change: WebhookChange, current: Webhooks): WebhookChange {
  const out: WebhookChange = {}
  if (change.url === '' || change.url === null) out.url = null
  else if (change.url !== undefined) {
    const url = checkWebhookUrl(`${prefix}url`, change.url, ctx.deps.allowInsecureWebhooks ?? false)
    out.url = accepted(restoreMaskedUrl(`${prefix}url`, url, current.url))
  }
  if (change.headers !== undefined) out.headers = accepted(restoreMaskedHeaders(`${prefix}headers`, change.headers, current.headers))
  return out
}

/** The webhook as answers show it: URL credentials and header values masked. */
export function maskedWebhooks<T extends { url: string | null; headers: Record<string, string> }>(webhooks: T): T {
  return { ...webhooks, url: maskWebhookUrl(webhooks.url), headers: maskHeaders(webhooks.headers) }
}
