import { invalid, missing, OnPremCode, WaboxError } from '../../errors/index.js'
import {
  charLength, isObject, join, objects, optArray, optEnum, optObject, optString, reqEnum, reqObject, reqString, validateLocation, type Obj,
} from './fields.js'
import type { HsmObject, TemplateComponent, TemplateObject, TemplateParameter } from './outbound.js'
import type { MediaCollector, ValidationOptions } from './validation.js'

const LANGUAGE = /^[a-z]{2,3}(_[A-Za-z]{2,4})?$/
const MAX_NAMESPACE = 256
const PARAMETER_TYPES = ['text', 'currency', 'date_time', 'image', 'video', 'document', 'location', 'payload', 'coupon_code', 'action'] as const
const BUTTON_SUB_TYPES = ['quick_reply', 'url', 'copy_code', 'flow', 'catalog', 'mpm', 'voice_call'] as const
type ButtonSubType = (typeof BUTTON_SUB_TYPES)[number]
/** Buttons whose parameter is `{type:"action", action:{...}}` (cloud-api.md §1.2). */
const ACTION_SUB_TYPES: readonly ButtonSubType[] = ['flow', 'catalog', 'mpm']

function namespace(o: Obj, path: string, required: boolean): string | undefined {
  const ns = o.namespace
  if (ns === undefined || ns === null || ns === '') {
    if (required) throw new WaboxError(OnPremCode.NAMESPACE_EMPTY, `${path}.namespace is required: the namespace of the template's WhatsApp Business Account`)
    return undefined
  }
  if (typeof ns !== 'string') throw invalid(`${path}.namespace`, 'must be a string')
  if (charLength(ns) > MAX_NAMESPACE) throw invalid(`${path}.namespace`, `must be at most ${MAX_NAMESPACE} characters`)
  return ns
}

function language(o: Obj, path: string): { code: string; policy?: 'deterministic' | 'fallback' } {
  const lang = reqObject(o, 'language', path)
  const code = reqString(lang, 'code', `${path}.language`, { max: 16, pattern: LANGUAGE, rule: 'must be a language code such as "en" or "en_US"' })
  const policy = optEnum(lang, 'policy', `${path}.language`, ['deterministic', 'fallback'] as const)
  return policy ? { code, policy } : { code }
}

/** The `action` of a flow, catalog or mpm button: only the fields each takes. */
function buttonAction(p: Obj, path: string, subType: ButtonSubType | undefined): Record<string, unknown> {
  if (subType === undefined || !ACTION_SUB_TYPES.includes(subType)) {
    throw invalid(`${path}.type`, `"action" parameters belong to ${ACTION_SUB_TYPES.map((t) => `"${t}"`).join(', ')} buttons`)
  }
  const action = reqObject(p, 'action', path)
  const at = `${path}.action`
  if (subType === 'flow') {
    optString(action, 'flow_token', at, { max: 200 })
    optObject(action, 'flow_action_data', at)
    return action
  }
  optString(action, 'thumbnail_product_retailer_id', at, { max: 128 })
  if (subType === 'mpm') {
    const sections = optArray(action, 'sections', at)
    if (sections) objects(sections, `${at}.sections`)
  }
  return action
}

function parameter(p: Obj, path: string, c: MediaCollector, subType?: ButtonSubType): TemplateParameter {
  const type = reqEnum(p, 'type', path, PARAMETER_TYPES)
  const out: TemplateParameter = { type }
  const name = optString(p, 'parameter_name', path, { min: 1, max: 64 })
  if (name !== undefined) out.parameter_name = name
  switch (type) {
    case 'text':
      out.text = reqString(p, 'text', path, { max: 32768 })
      break
    case 'payload':
      out.payload = reqString(p, 'payload', path, { max: 128 })
      break
    case 'coupon_code':
      out.coupon_code = reqString(p, 'coupon_code', path, { max: 15 })
      break
    case 'currency': {
      const cur = reqObject(p, 'currency', path)
      const at = `${path}.currency`
      const amount = cur.amount_1000
      if (amount === undefined || amount === null) throw missing(`${at}.amount_1000`)
      if (typeof amount !== 'number' || !Number.isInteger(amount)) throw invalid(`${at}.amount_1000`, 'must be an integer (the amount times 1000)')
      out.currency = {
        fallback_value: reqString(cur, 'fallback_value', at),
        code: reqString(cur, 'code', at, { max: 3, pattern: /^[A-Z]{3}$/, rule: 'must be an ISO 4217 currency code such as "USD"' }),
        amount_1000: amount,
      }
      break
    }
    case 'date_time':
      out.date_time = { fallback_value: reqString(reqObject(p, 'date_time', path), 'fallback_value', `${path}.date_time`) }
      break
    case 'image':
    case 'video':
    case 'document':
      // media parameters fill the header, and headers carry no caption (cloud-api.md §1.2)
      out[type] = c.media(reqObject(p, type, path), join(path, type), type, { caption: false, filename: type === 'document' })
      break
    case 'location':
      out.location = validateLocation(reqObject(p, 'location', path), `${path}.location`)
      break
    case 'action':
      out.action = buttonAction(p, path, subType)
      break
  }
  return out
}

function component(o: Obj, path: string, c: MediaCollector): TemplateComponent {
  const type = reqEnum(o, 'type', path, ['header', 'body', 'button'] as const)
  const out: TemplateComponent = { type }
  let subType: ButtonSubType | undefined
  if (type === 'button') {
    subType = out.sub_type = reqEnum(o, 'sub_type', path, BUTTON_SUB_TYPES)
    const index = o.index
    if (index === undefined || index === null) throw missing(`${path}.index`)
    const n = typeof index === 'number' ? index : typeof index === 'string' && index.length <= 2 && /^\d+$/.test(index) ? Number(index) : NaN
    if (!Number.isInteger(n) || n < 0 || n > 9) throw invalid(`${path}.index`, 'must be the button position, 0 to 9')
    out.index = index as string | number
  }
  const params = optArray(o, 'parameters', path)
  if (params) out.parameters = objects(params, `${path}.parameters`).map((p, i) => parameter(p, join(`${path}.parameters`, i), c, subType))
  return out
}

export function validateTemplate(o: Obj, c: MediaCollector): TemplateObject {
  const ns = namespace(o, 'template', c.opts.requireNamespace)
  const out: TemplateObject = { name: reqString(o, 'name', 'template', { max: 512 }), language: language(o, 'template') }
  if (ns !== undefined) out.namespace = ns
  const components = optArray(o, 'components', 'template')
  if (components) out.components = objects(components, 'template.components').map((x, i) => component(x, join('template.components', i), c))
  return out
}

/** The legacy `hsm` type: always On-Prem, so the namespace is always required. */
export function validateHsm(o: Obj, _opts: ValidationOptions): HsmObject {
  const ns = namespace(o, 'hsm', true) as string
  const out: HsmObject = { namespace: ns, element_name: reqString(o, 'element_name', 'hsm', { max: 512 }), language: language(o, 'hsm') }
  const params = optArray(o, 'localizable_params', 'hsm')
  if (params) {
    out.localizable_params = objects(params, 'hsm.localizable_params').map((p, i) => {
      const at = join('hsm.localizable_params', i)
      const param: { default: string; currency?: unknown; date_time?: unknown } = { default: reqString(p, 'default', at, { min: 0 }) }
      if (p.currency !== undefined) {
        if (!isObject(p.currency)) throw invalid(`${at}.currency`, 'must be an object')
        param.currency = p.currency
      }
      if (p.date_time !== undefined) {
        if (!isObject(p.date_time)) throw invalid(`${at}.date_time`, 'must be an object')
        param.date_time = p.date_time
      }
      return param
    })
  }
  return out
}
