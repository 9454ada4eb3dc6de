import dns from 'node:dns'
import type { UrlPolicy } from '../../domain/ip-address.js'
import type { ApplicationSettings } from '../../domain/settings.js'
import { checkWebhookUrl, resolvedWebhookHostProblem, webhookHeadersProblem } from '../../domain/webhook-config.js'
import {
  isConfigProblem, maskHeaders, maskWebhookUrl, restoreMaskedHeaders, restoreMaskedUrl, type ConfigProblem,
} from '../../domain/webhook-secrets.js'
import { invalid } from '../../errors/index.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'

type Webhooks = ApplicationSettings['webhooks']

function accepted<T>(value: T | ConfigProblem | null): T {
  if (isConfigProblem(value)) throw invalid(value.field, value.rule)
  return value as T
}

const systemResolve = async (hostname: string): Promise<string[]> =>
  (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map((a) => a.address)

/** The host's addresses, or null when it does not resolve in time (delivery resolves and checks again). */
async function addressesOf(ctx: WebContext, hostname: string): Promise<string[] | null> {
  const resolve = ctx.deps.resolveWebhookHost ?? systemResolve
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<null>((done) => {
    timer = setTimeout(() => done(null), ctx.limits.webhookDnsTimeoutMs)
  })
  try {
    return await Promise.race([resolve(hostname).catch(() => null), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Which addresses a webhook URL may reach from this deployment. */
export function webhookUrlPolicy(ctx: WebContext): UrlPolicy {
  return { allowInsecureLoopback: ctx.deps.allowInsecureWebhooks ?? false, allowPrivateNetworks: ctx.deps.allowPrivateWebhooks ?? false }
}

/** The URL to store: https:// (http:// to loopback in the dev profile), to no private, loopback or metadata address. */
export async function checkedUrl(ctx: WebContext, field: string, raw: string): Promise<string> {
  const policy = webhookUrlPolicy(ctx)
  const checked = accepted(checkWebhookUrl(field, raw, policy))
  if (checked.resolve !== null) {
    const addresses = await addressesOf(ctx, checked.resolve)
    if (addresses) accepted(resolvedWebhookHostProblem(field, checked.resolve, addresses, policy))
  }
  return checked.url
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
export async function checkedWebhookChange(ctx: WebContext, prefix: string, change: WebhookChange, current: Webhooks): Promise<WebhookChange> {
  const out: WebhookChange = {}
  if (change.url === '' || change.url === null) out.url = null
  else if (change.url !== undefined) {
    const url = await checkedUrl(ctx, `${prefix}url`, change.url)
    out.url = accepted(restoreMaskedUrl(`${prefix}url`, url, current.url))
  }
  if (change.headers !== undefined) {
    accepted(webhookHeadersProblem(`${prefix}headers`, change.headers))
    out.headers = accepted(restoreMaskedHeaders(`${prefix}headers`, change.headers, current.headers))
  }
  return out
}

/** The webhook as answers show it: URL credentials and header values masked. */
export function maskedWebhooks<T extends { url: string | null; headers: Record<string, string> }>(webhooks: T): T {
  return { ...webhooks, url: maskWebhookUrl(webhooks.url), headers: maskHeaders(webhooks.headers) }
}

/** A number's webhook as answers show it. */
export interface WebhookView {
  url: string | null
  headers: Record<string, string>
}

/** The number's webhook URL and headers, masked. */
export function webhookOf(ctx: WebContext, number: PhoneNumberRow): WebhookView {
  const { url, headers } = ctx.store.numbers.settings(number).webhooks
  return maskedWebhooks({ url, headers })
}

/**
 * Sets the number's webhook URL and headers (360dialog's `/v1/configs/webhook`): checked as
 * `checkedWebhookChange` does, other webhook settings kept. Answers the result, masked.
 */
export async function setWebhook(ctx: WebContext, number: PhoneNumberRow, change: { url: string; headers: Record<string, string> }): Promise<WebhookView> {
  const { store } = ctx
  const stored = store.numbers.storedSettings(number)
  const checked = await checkedWebhookChange(ctx, '', change, store.numbers.settings(number).webhooks)
  const webhooks = { ...stored.webhooks, ...checked } as Webhooks
  await store.numbers.saveSettings(number.id, { ...stored, webhooks })
  return maskedWebhooks({ url: webhooks.url, headers: webhooks.headers })
}
