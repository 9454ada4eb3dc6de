/**
 * Meta's rules for a message template a business submits (`POST /{waba_id}/message_templates`,
 * 360dialog's `POST /v1/configs/templates`), pure: the same answer on the WebApp edge and on the
 * network that keeps templates. A broken rule names the field, as Graph's `error_user_msg` does.
 */

export const TEMPLATE_CATEGORIES = ['MARKETING', 'UTILITY', 'AUTHENTICATION'] as const
export type TemplateCategory = (typeof TEMPLATE_CATEGORIES)[number]
export type ParameterFormat = 'POSITIONAL' | 'NAMED'

/** Template languages Meta accepts (WhatsApp "supported languages"). */
export const TEMPLATE_LANGUAGES: ReadonlySet<string> = new Set((
  'af sq ar ar_EG ar_AE ar_LB ar_MA ar_QA az be_BY bn bn_IN bg ca zh_CN zh_HK zh_TW hr cs da prs_AF nl nl_BE '
  + 'en en_GB en_US en_AE en_AU en_CA en_GH en_IE en_IN en_JM en_MY en_NZ en_QA en_SG en_UG en_ZA et fil fi '
  + 'fr fr_BE fr_CA fr_CH fr_CI fr_MA ka de de_AT de_CH el gu ha he hi hu id ga it ja kn kk rw_RW ko ky_KG lo '
  + 'lv lt mk ms ml mr nb ps_AF fa pl pt_BR pt_PT pa ro ru sr si_LK sk sl es es_AR es_CL es_CO es_CR es_DO es_EC '
  + 'es_HN es_MX es_PA es_PE es_ES es_UY sw sv ta te th tr uk ur uz vi zu').split(' '))

export const TEMPLATE_LIMITS = Object.freeze({
  name: 512,
  headerText: 60,
  body: 1024,
  footer: 60,
  buttons: 10,
  urlButtons: 2,
  phoneButtons: 1,
  copyCodeButtons: 1,
  buttonText: 25,
  url: 2000,
  phoneNumber: 20,
})

/** Which rule a definition broke; the dialect turns it into its error (Graph: 100 with a subcode). */
export type TemplateRule = 'invalid' | 'header_format' | 'variable_at_edge'

export interface TemplateComponentSpec {
  type: 'HEADER' | 'BODY' | 'FOOTER' | 'BUTTONS'
  format?: 'TEXT' | 'IMAGE' | 'VIDEO' | 'DOCUMENT' | 'LOCATION'
  text?: string
  example?: Record<string, unknown>
  buttons?: TemplateButtonSpec[]
}

export interface TemplateButtonSpec {
  type: 'QUICK_REPLY' | 'URL' | 'PHONE_NUMBER' | 'COPY_CODE' | 'OTP'
  text: string
  url?: string
  phone_number?: string
  otp_type?: string
  example?: string[]
}

/** A definition that passed every rule, normalised (upper-case types and formats). */
export interface TemplateSpec {
  name: string
  language: string
  category: TemplateCategory
  parameterFormat: ParameterFormat
  components: TemplateComponentSpec[]
}

export type TemplateCheck<T> = { ok: true; value: T } | { ok: false; field: string; message: string; rule: TemplateRule }

class Broken extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly rule: TemplateRule = 'invalid',
  ) {
    super(message)
  }
}

const NAME = /^[a-z0-9_]{1,512}$/
const POSITIONAL = /\{\{\s*(\d+)\s*\}\}/g
const NAMED = /\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}/g
const ANY_VARIABLE = /\{\{[^}]*\}\}/g
const COMPONENT_TYPES = ['HEADER', 'BODY', 'FOOTER', 'BUTTONS'] as const
const HEADER_FORMATS = ['TEXT', 'IMAGE', 'VIDEO', 'DOCUMENT', 'LOCATION'] as const
const BUTTON_TYPES = ['QUICK_REPLY', 'URL', 'PHONE_NUMBER', 'COPY_CODE', 'OTP'] as const
/** What Meta writes into an authentication template's body itself. */
const AUTH_BODY = '{{1}} is your verification code.'

/** A whole new template: name, language, category, parameter_format, components. */
export function checkTemplateDefinition(input: unknown): TemplateCheck<TemplateSpec> {
  return guarded(() => {
    const t = record(input, 'template')
    const name = t.name
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new Broken('name', `name must be 1 to ${TEMPLATE_LIMITS.name} lowercase letters, digits and underscores`)
    }
    const language = t.language
    if (typeof language !== 'string' || !TEMPLATE_LANGUAGES.has(language)) {
      throw new Broken('language', `language ${JSON.stringify(language)} is not a template language WhatsApp supports (e.g. en_US, en, pt_BR)`)
    }
    const category = categoryOf(t.category)
    const parameterFormat = parameterFormatOf(t.parameter_format)
    return { name, language, category, parameterFormat, components: checkComponents(t.components, category, parameterFormat) }
  })
}

/** An edit of an existing template (`POST /{template_id}`): components and/or category. */
export function checkTemplateEdit(input: unknown, current: { category: string; parameterFormat: ParameterFormat }): TemplateCheck<{ category: TemplateCategory; components?: TemplateComponentSpec[] }> {
  return guarded(() => {
    const t = record(input, 'request')
    if (t.components === undefined && t.category === undefined) throw new Broken('components', 'an edit names new components, a new category, or both')
    const category = t.category === undefined ? categoryOf(current.category) : categoryOf(t.category)
    if (t.components === undefined) return { category }
    return { category, components: checkComponents(t.components, category, current.parameterFormat) }
  })
}

function guarded<T>(fn: () => T): TemplateCheck<T> {
  try {
    return { ok: true, value: fn() }
  } catch (err) {
    if (err instanceof Broken) return { ok: false, field: err.field, message: err.message, rule: err.rule }
    throw err
  }
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Broken(what, `${what} must be an object`)
  return value as Record<string, unknown>
}

function categoryOf(value: unknown): TemplateCategory {
  const upper = typeof value === 'string' ? value.toUpperCase() : ''
  if (!(TEMPLATE_CATEGORIES as readonly string[]).includes(upper)) throw new Broken('category', `category must be one of ${TEMPLATE_CATEGORIES.join(', ')}`)
  return upper as TemplateCategory
}

function parameterFormatOf(value: unknown): ParameterFormat {
  if (value === undefined) return 'POSITIONAL'
  const upper = typeof value === 'string' ? value.toUpperCase() : ''
  if (upper !== 'POSITIONAL' && upper !== 'NAMED') throw new Broken('parameter_format', 'parameter_format must be POSITIONAL or NAMED')
  return upper
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  const upper = typeof value === 'string' ? value.toUpperCase() : ''
  if (!(allowed as readonly string[]).includes(upper)) throw new Broken(field, `${field} must be one of ${allowed.join(', ')}`)
  return upper as T
}

function text(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.trim() === '') throw new Broken(field, `${field} is required: a non-empty string`)
  if (value.length > max) throw new Broken(field, `${field} is ${value.length} characters, at most ${max}`)
  return value
}

function checkComponents(value: unknown, category: TemplateCategory, format: ParameterFormat): TemplateComponentSpec[] {
  if (!Array.isArray(value) || value.length === 0) throw new Broken('components', 'components must be a non-empty array')
  const seen = new Set<string>()
  const out = value.map((raw, i): TemplateComponentSpec => {
    const c = record(raw, `components[${i}]`)
    const type = oneOf(c.type, COMPONENT_TYPES, `components[${i}].type`)
    if (seen.has(type)) throw new Broken(`components[${i}].type`, `a template has at most one ${type} component`)
    seen.add(type)
    const where = `components[${i}]`
    switch (type) {
      case 'HEADER':
        return checkHeader(c, where, format)
      case 'BODY':
        return checkBody(c, where, category, format)
      case 'FOOTER': {
        const footer = text(c.text, `${where}.text`, TEMPLATE_LIMITS.footer)
        if (footer.match(ANY_VARIABLE)) throw new Broken(`${where}.text`, 'a footer cannot have variables')
        return { type, text: footer }
      }
      case 'BUTTONS':
        return { type, buttons: checkButtons(c.buttons, `${where}.buttons`, category) }
    }
  })
  if (!seen.has('BODY')) throw new Broken('components', 'a template needs a BODY component')
  if (category === 'AUTHENTICATION' && !out.some((c) => c.buttons?.some((b) => b.type === 'OTP'))) {
    throw new Broken('components', 'an AUTHENTICATION template needs a BUTTONS component with an OTP button')
  }
  return out
}

function checkHeader(c: Record<string, unknown>, where: string, format: ParameterFormat): TemplateComponentSpec {
  const headerFormat = oneOf(c.format ?? 'TEXT', HEADER_FORMATS, `${where}.format`)
  const example = c.example === undefined ? undefined : record(c.example, `${where}.example`)
  if (headerFormat === 'LOCATION') return { type: 'HEADER', format: headerFormat }
  if (headerFormat !== 'TEXT') {
    const handles = example?.header_handle
    if (!Array.isArray(handles) || handles.length !== 1 || typeof handles[0] !== 'string') {
      throw new Broken(`${where}.example.header_handle`, `a ${headerFormat} header needs example.header_handle: one sample media handle`)
    }
    return { type: 'HEADER', format: headerFormat, example: { header_handle: handles } }
  }
  const header = text(c.text, `${where}.text`, TEMPLATE_LIMITS.headerText)
  if (/[\n*_~`]/.test(header) || /\p{Extended_Pictographic}/u.test(header)) {
    throw new Broken(`${where}.text`, "the message header can't have new lines, formatting characters, emojis or asterisks", 'header_format')
  }
  const keys = variables(header, format, `${where}.text`)
  if (keys.length > 1) throw new Broken(`${where}.text`, 'a header has at most one variable')
  if (keys.length === 1) {
    if (format === 'POSITIONAL') {
      const samples = example?.header_text
      if (!Array.isArray(samples) || samples.length !== 1 || typeof samples[0] !== 'string') {
        throw new Broken(`${where}.example.header_text`, 'a header with {{1}} needs example.header_text: one sample value')
      }
    } else {
      namedSamples(example?.header_text_named_params, keys, `${where}.example.header_text_named_params`)
    }
  }
  return { type: 'HEADER', format: 'TEXT', text: header, ...(example ? { example } : {}) }
}

function checkBody(c: Record<string, unknown>, where: string, category: TemplateCategory, format: ParameterFormat): TemplateComponentSpec {
  // Meta writes the body of an authentication template itself
  if (category === 'AUTHENTICATION') return { type: 'BODY', text: AUTH_BODY }
  const body = text(c.text, `${where}.text`, TEMPLATE_LIMITS.body)
  const keys = variables(body, format, `${where}.text`)
  if (keys.length === 0) return { type: 'BODY', text: body }
  const trimmed = body.trim()
  if (/^\{\{[^}]*\}\}/.test(trimmed) || /\{\{[^}]*\}\}$/.test(trimmed)) {
    throw new Broken(`${where}.text`, "variables can't be at the start or end of the template body", 'variable_at_edge')
  }
  const example = c.example === undefined ? undefined : record(c.example, `${where}.example`)
  if (format === 'POSITIONAL') {
    const rows = example?.body_text
    const row: unknown = Array.isArray(rows) ? rows[0] : undefined
    if (!Array.isArray(row) || row.length !== keys.length || !row.every((v) => typeof v === 'string' && v !== '')) {
      throw new Broken(`${where}.example.body_text`, `the body has ${keys.length} variables: example.body_text must be [[${keys.length} sample values]]`)
    }
  } else {
    namedSamples(example?.body_text_named_params, keys, `${where}.example.body_text_named_params`)
  }
  return { type: 'BODY', text: body, example: example! }
}

/** Variable keys in order; positional ones must be {{1}}..{{n}}, named ones lower-case names, never mixed. */
function variables(value: string, format: ParameterFormat, field: string): string[] {
  const all = [...value.matchAll(ANY_VARIABLE)].map((m) => m[0])
  const pattern = format === 'POSITIONAL' ? POSITIONAL : NAMED
  const keys = [...value.matchAll(pattern)].map((m) => m[1]!)
  if (keys.length !== all.length) {
    throw new Broken(field, format === 'POSITIONAL'
      ? 'variables are {{1}}, {{2}}, ... (set parameter_format NAMED for {{name}} variables)'
      : 'named variables are {{lower_case_name}}')
  }
  const distinct = [...new Set(keys)]
  if (format === 'POSITIONAL') {
    const numbers = distinct.map(Number).sort((a, b) => a - b)
    if (numbers.some((n, i) => n !== i + 1)) throw new Broken(field, 'positional variables must be sequential: {{1}}, {{2}}, ... without gaps')
  }
  return distinct
}

function namedSamples(value: unknown, keys: string[], field: string): void {
  if (!Array.isArray(value)) throw new Broken(field, `named variables need ${field.split('.').at(-1)}: [{param_name, example}] for ${keys.join(', ')}`)
  const given = new Map<string, unknown>()
  for (const entry of value) {
    if (typeof entry === 'object' && entry !== null) given.set(String((entry as Record<string, unknown>).param_name), (entry as Record<string, unknown>).example)
  }
  const missing = keys.find((k) => typeof given.get(k) !== 'string')
  if (missing !== undefined) throw new Broken(field, `no sample value for {{${missing}}}`)
}

function checkButtons(value: unknown, field: string, category: TemplateCategory): TemplateButtonSpec[] {
  if (!Array.isArray(value) || value.length === 0) throw new Broken(field, 'buttons must be a non-empty array')
  if (value.length > TEMPLATE_LIMITS.buttons) throw new Broken(field, `a template has at most ${TEMPLATE_LIMITS.buttons} buttons`)
  const buttons = value.map((raw, i) => checkButton(record(raw, `${field}[${i}]`), `${field}[${i}]`, category))
  const count = (type: TemplateButtonSpec['type']) => buttons.filter((b) => b.type === type).length
  if (count('URL') > TEMPLATE_LIMITS.urlButtons) throw new Broken(field, `a template has at most ${TEMPLATE_LIMITS.urlButtons} URL buttons`)
  if (count('PHONE_NUMBER') > TEMPLATE_LIMITS.phoneButtons) throw new Broken(field, `a template has at most ${TEMPLATE_LIMITS.phoneButtons} PHONE_NUMBER button`)
  if (count('COPY_CODE') > TEMPLATE_LIMITS.copyCodeButtons) throw new Broken(field, `a template has at most ${TEMPLATE_LIMITS.copyCodeButtons} COPY_CODE button`)
  return buttons
}

function checkButton(b: Record<string, unknown>, where: string, category: TemplateCategory): TemplateButtonSpec {
  const type = oneOf(b.type, BUTTON_TYPES, `${where}.type`)
  if (type === 'OTP') {
    if (category !== 'AUTHENTICATION') throw new Broken(`${where}.type`, 'OTP buttons belong to AUTHENTICATION templates')
    const otpType = oneOf(b.otp_type, ['COPY_CODE', 'ONE_TAP', 'ZERO_TAP'] as const, `${where}.otp_type`)
    return { type, text: typeof b.text === 'string' && b.text !== '' ? b.text : 'Copy code', otp_type: otpType }
  }
  if (category === 'AUTHENTICATION') throw new Broken(`${where}.type`, 'an AUTHENTICATION template has only OTP buttons')
  if (type === 'COPY_CODE') {
    const example = b.example
    if (typeof example !== 'string' && !(Array.isArray(example) && typeof example[0] === 'string')) {
      throw new Broken(`${where}.example`, 'a COPY_CODE button needs example: a sample code')
    }
    return { type, text: 'Copy offer code', example: [Array.isArray(example) ? String(example[0]) : example] }
  }
  const label = text(b.text, `${where}.text`, TEMPLATE_LIMITS.buttonText)
  if (type === 'QUICK_REPLY') return { type, text: label }
  if (type === 'PHONE_NUMBER') {
    const phone = b.phone_number
    if (typeof phone !== 'string' || !/^\+?\d{6,20}$/.test(phone)) throw new Broken(`${where}.phone_number`, 'phone_number is required: digits with the country code, e.g. +15550001234')
    return { type, text: label, phone_number: phone }
  }
  const url = text(b.url, `${where}.url`, TEMPLATE_LIMITS.url)
  if (!/^https?:\/\/[^\s/]+/.test(url)) throw new Broken(`${where}.url`, 'url must be an http(s) URL')
  const vars = [...url.matchAll(ANY_VARIABLE)].map((m) => m[0])
  if (vars.length === 0) return { type, text: label, url }
  if (vars.length > 1 || !/\{\{1\}\}$/.test(url)) throw new Broken(`${where}.url`, 'a URL button has at most one variable, {{1}}, at the end of the URL')
  const example = b.example
  if (!Array.isArray(example) || typeof example[0] !== 'string' || !/^https?:\/\//.test(example[0])) {
    throw new Broken(`${where}.example`, 'a URL with {{1}} needs example: [a full sample URL]')
  }
  return { type, text: label, url, example: [example[0]] }
}
