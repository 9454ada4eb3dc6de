import { CloudCode, OnPremCode } from '../errors/index.js'
import type { HsmObject, LocationObject, MediaObject, TemplateComponent, TemplateObject, TemplateParameter } from './message/outbound.js'

/**
 * Template rules and hydration: an approved template of the number's pack, the request's
 * parameters filled into its `{{n}}` (or `{{name}}`) placeholders. Structurally compatible
 * with the network's `TemplateWire` / `TemplatesGetResult`.
 */
export interface TemplateDefinition {
  /** The network's id of the template (absent in packs that predate it). */
  id?: string
  name: string
  language: string
  category: string
  status: string
  components: readonly {
    type: string
    format?: string
    text?: string
    example?: Record<string, unknown>
    buttons?: readonly { type: string; text: string; url?: string; phone_number?: string; otp_type?: string; example?: string[] }[]
  }[]
  /** Why the review rejected it. */
  reason?: string
  /** GREEN | YELLOW | RED | UNKNOWN. */
  quality?: string
  parameterFormat?: 'POSITIONAL' | 'NAMED'
}

export interface TemplatePack {
  namespace: string
  templates: readonly TemplateDefinition[]
}

export interface HydratedButton {
  type: string
  text: string
  payload?: string
  url?: string
}

export interface HydratedTemplate {
  /** The template's id, when the pack has one: the network rates a template by its messages. */
  id?: string
  name: string
  language: string
  /** The template's category, lower case (marketing | utility | authentication). */
  category: string
  header?: { text?: string; media?: { type: 'image' | 'video' | 'document'; object: MediaObject }; location?: LocationObject }
  body: string
  footer?: string
  buttons?: HydratedButton[]
}

/** On-Prem codes of template failures (the webhook renderer maps them to Cloud 1320xx). */
export type TemplateFailureCode = (typeof OnPremCode)[
  'TEMPLATE_PARAM_COUNT_MISMATCH'
  | 'TEMPLATE_MISSING'
  | 'TEMPLATE_HYDRATED_TEXT_TOO_LONG'
  | 'TEMPLATE_PARAM_FORMAT_MISMATCH'
  | 'NAMESPACE_EMPTY'
  | 'TEMPLATE_REJECTED'
  | 'TEMPLATE_PAUSED'
  | 'TEMPLATE_DISABLED'
] | typeof CloudCode.USER_ID_RECIPIENT_UNSUPPORTED

export type TemplateResult = { ok: true; template: HydratedTemplate } | { ok: false; code: TemplateFailureCode; details: string }

/** Longest hydrated body a template may have. */
export const MAX_TEMPLATE_BODY = 1024

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g
const MEDIA_FORMATS = new Set(['IMAGE', 'VIDEO', 'DOCUMENT'])

class TemplateFailure extends Error {
  constructor(
    readonly code: TemplateFailureCode,
    readonly details: string,
  ) {
    super(details)
  }
}

export function resolveTemplate(pack: TemplatePack, request: TemplateObject): TemplateResult {
  if (request.namespace !== undefined && request.namespace !== pack.namespace) {
    return { ok: false, code: OnPremCode.TEMPLATE_MISSING, details: `namespace ${request.namespace} does not match this number's namespace` }
  }
  return guarded(() => {
    const def = findTemplate(pack, request.name, request.language)
    if (request.to_user_id && needsPhoneNumber(def)) {
      throw new TemplateFailure(CloudCode.USER_ID_RECIPIENT_UNSUPPORTED,
        `template ${def.name} is an authentication template with a one-tap, zero-tap or copy-code button: send it to a phone number ('to'), not a business-scoped user id`)
    }
    return hydrate(def, request.components ?? [])
  })
}

/** Authentication templates whose OTP button (copy-code, one-tap, zero-tap) goes to a phone number (cloud-2026.md §1.3). */
function needsPhoneNumber(def: TemplateDefinition): boolean {
  return def.category.toUpperCase() === 'AUTHENTICATION'
    && def.components.some((c) => c.buttons?.some((b) => b.type === 'OTP'))
}

/** Legacy `hsm`: `localizable_params` are the body parameters, their `default` the text. */
export function resolveHsm(pack: TemplatePack, hsm: HsmObject): TemplateResult {
  if (!hsm.namespace) return { ok: false, code: OnPremCode.NAMESPACE_EMPTY, details: 'hsm.namespace is empty' }
  if (hsm.namespace !== pack.namespace) {
    return { ok: false, code: OnPremCode.TEMPLATE_MISSING, details: `namespace ${hsm.namespace} does not match this number's namespace` }
  }
  const body: TemplateComponent = { type: 'body', parameters: (hsm.localizable_params ?? []).map((p) => ({ type: 'text', text: p.default })) }
  return guarded(() => hydrate(findTemplate(pack, hsm.element_name, hsm.language), [body]))
}

function guarded(fn: () => HydratedTemplate): TemplateResult {
  try {
    return { ok: true, template: fn() }
  } catch (err) {
    if (err instanceof TemplateFailure) return { ok: false, code: err.code, details: err.details }
    throw err
  }
}

/** The approved template for name + language (with the `fallback` policy, any of the same base language). */
export function findTemplate(pack: TemplatePack, name: string, language: { code: string; policy?: string }): TemplateDefinition {
  const named = pack.templates.filter((t) => t.name === name)
  if (named.length === 0) throw new TemplateFailure(OnPremCode.TEMPLATE_MISSING, `template ${name} does not exist`)
  let found = named.find((t) => t.language === language.code)
  if (!found && language.policy === 'fallback') {
    const base = language.code.split(/[_-]/)[0]
    found = named.find((t) => t.language.split(/[_-]/)[0] === base)
  }
  if (!found) throw new TemplateFailure(OnPremCode.TEMPLATE_MISSING, `template ${name} does not exist in language ${language.code}`)
  switch (found.status) {
    case 'APPROVED':
      return found
    case 'PAUSED':
      throw new TemplateFailure(OnPremCode.TEMPLATE_PAUSED, `template ${name} is paused`)
    case 'DISABLED':
      throw new TemplateFailure(OnPremCode.TEMPLATE_DISABLED, `template ${name} is disabled`)
    case 'REJECTED':
      throw new TemplateFailure(OnPremCode.TEMPLATE_REJECTED, `template ${name} was rejected`)
    default:
      throw new TemplateFailure(OnPremCode.TEMPLATE_MISSING, `template ${name} is not approved (${found.status})`)
  }
}

/** Placeholder keys in order of first appearance. */
export function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]!))]
}

function hydrate(def: TemplateDefinition, components: readonly TemplateComponent[]): HydratedTemplate {
  const out: HydratedTemplate = { ...(def.id ? { id: def.id } : {}), name: def.name, language: def.language, category: def.category.toLowerCase(), body: '' }
  const find = (type: string) => def.components.find((c) => c.type === type)
  const given = (type: 'header' | 'body') => components.filter((c) => c.type === type).flatMap((c) => c.parameters ?? [])

  const header = find('HEADER')
  const headerParams = given('header')
  if (!header && headerParams.length > 0) throw new TemplateFailure(OnPremCode.TEMPLATE_PARAM_COUNT_MISMATCH, `header: template has no header, got ${headerParams.length} parameters`)
  if (header) out.header = hydrateHeader(header, headerParams)

  const body = find('BODY')
  out.body = fill(body?.text ?? '', given('body'), 'body')
  if (out.body.length > MAX_TEMPLATE_BODY) throw new TemplateFailure(OnPremCode.TEMPLATE_HYDRATED_TEXT_TOO_LONG, `hydrated body is ${out.body.length} characters, at most ${MAX_TEMPLATE_BODY}`)

  const footer = find('FOOTER')
  if (footer?.text) out.footer = footer.text

  const defined = find('BUTTONS')?.buttons ?? []
  const buttonComponents = components.filter((c) => c.type === 'button')
  for (const c of buttonComponents) {
    const index = Number(c.index ?? 0)
    if (!Number.isInteger(index) || index < 0 || index >= defined.length) {
      throw new TemplateFailure(OnPremCode.TEMPLATE_PARAM_COUNT_MISMATCH, `button index ${String(c.index)}: template has ${defined.length} buttons`)
    }
  }
  if (defined.length > 0) out.buttons = defined.map((b, i) => hydrateButton(b, i, buttonComponents.find((c) => Number(c.index ?? 0) === i)))
  return out
}

function hydrateHeader(header: TemplateDefinition['components'][number], params: TemplateParameter[]): NonNullable<HydratedTemplate['header']> {
  const format = header.format ?? 'TEXT'
  if (format === 'TEXT') return { text: fill(header.text ?? '', params, 'header') }
  if (params.length !== 1) throw new TemplateFailure(OnPremCode.TEMPLATE_PARAM_COUNT_MISMATCH, `header: expected 1 ${format.toLowerCase()} parameter, got ${params.length}`)
  const p = params[0]!
  if (MEDIA_FORMATS.has(format)) {
    const type = format.toLowerCase() as 'image' | 'video' | 'document'
    const object = p.type === type ? p[type] : undefined
    if (!object) throw new TemplateFailure(OnPremCode.TEMPLATE_PARAM_FORMAT_MISMATCH, `header: expected a ${type} parameter, got ${p.type}`)
    return { media: { type, object } }
  }
  if (format === 'LOCATION' && p.type === 'location' && p.location) return { location: p.location }
  throw new TemplateFailure(OnPremCode.TEMPLATE_PARAM_FORMAT_MISMATCH, `header: expected a ${format.toLowerCase()} parameter, got ${p.type}`)
}

function hydrateButton(def: { type: string; text: string; url?: string }, index: number, component: TemplateComponent | undefined): HydratedButton {
  const params = component?.parameters ?? []
  const button: HydratedButton = { type: def.type.toLowerCase(), text: def.text }
  switch (def.type) {
    case 'QUICK_REPLY': {
      const p = params[0]
      button.payload = p ? p.payload ?? p.text ?? def.text : def.text
      return button
    }
    case 'URL':
      if (def.url !== undefined) button.url = fill(def.url, params, `button ${index}`)
      return button
    case 'COPY_CODE': {
      const code = params[0]?.coupon_code ?? params[0]?.text
      if (code === undefined) throw new TemplateFailure(OnPremCode.TEMPLATE_PARAM_COUNT_MISMATCH, `button ${index}: copy_code needs a coupon_code parameter`)
      button.payload = code
      return button
    }
    case 'FLOW':
    case 'CATALOG':
    case 'MPM':
      // at most one `action` parameter (a flow token, a thumbnail product): nothing to fill in the text
      if (params.length > 1) throw new TemplateFailure(OnPremCode.TEMPLATE_PARAM_COUNT_MISMATCH, `button ${index}: expected at most 1 action parameter, got ${params.length}`)
      if (params[0] && params[0].type !== 'action') throw new TemplateFailure(OnPremCode.TEMPLATE_PARAM_FORMAT_MISMATCH, `button ${index}: expected an action parameter, got ${params[0].type}`)
      return button
    default:
      if (params.length > 0) throw new TemplateFailure(OnPremCode.TEMPLATE_PARAM_COUNT_MISMATCH, `button ${index}: ${def.type.toLowerCase()} buttons take no parameters`)
      return button
  }
}

/** Fills placeholders, positional (`{{1}}`) or named (`{{order_id}}` with `parameter_name`). */
export function fill(text: string, params: readonly TemplateParameter[], where: string): string {
  const keys = placeholders(text)
  if (keys.length !== params.length) throw new TemplateFailure(OnPremCode.TEMPLATE_PARAM_COUNT_MISMATCH, `${where}: expected ${keys.length} parameters, got ${params.length}`)
  if (keys.length === 0) return text
  const positional = keys.every((k) => /^\d+$/.test(k))
  const values = new Map<string, string>()
  for (const [i, p] of params.entries()) {
    const key = positional ? String(i + 1) : p.parameter_name
    if (key === undefined) throw new TemplateFailure(OnPremCode.TEMPLATE_PARAM_COUNT_MISMATCH, `${where}: parameter ${i + 1} needs a parameter_name`)
    values.set(key, parameterText(p, where))
  }
  for (const k of keys) if (!values.has(k)) throw new TemplateFailure(OnPremCode.TEMPLATE_PARAM_COUNT_MISMATCH, `${where}: no parameter for {{${k}}}`)
  return text.replace(PLACEHOLDER, (_m, key: string) => values.get(key) ?? '')
}

function parameterText(p: TemplateParameter, where: string): string {
  switch (p.type) {
    case 'text':
      if (p.text !== undefined) return p.text
      break
    case 'currency':
      if (p.currency) return p.currency.fallback_value
      break
    case 'date_time':
      if (p.date_time) return p.date_time.fallback_value
      break
    case 'payload':
      if (p.payload !== undefined) return p.payload
      break
    case 'coupon_code':
      if (p.coupon_code !== undefined) return p.coupon_code
      break
  }
  throw new TemplateFailure(OnPremCode.TEMPLATE_PARAM_FORMAT_MISMATCH, `${where}: a ${p.type} parameter cannot fill a text placeholder`)
}
