import { invalid, missing, notAllowed, OnPremCode, WaboxError } from '../../errors/index.js'
import {
  isHttpUrl, isObject, join, objects, optEnum, optObject, optString, reqArray, reqEnum, reqObject, reqString, type Obj,
} from './fields.js'
import type { MediaCollector } from './validation.js'

/** Interactive messages with the limits of cloud-api.md §1.2 (2015 sections, 2016 rows, 2023 products). */
const INTERACTIVE_TYPES = [
  'button', 'list', 'product', 'product_list', 'cta_url', 'flow', 'location_request_message', 'catalog_message',
  'call_permission_request', 'voice_call', 'request_contact_info', 'carousel',
] as const
type InteractiveType = (typeof INTERACTIVE_TYPES)[number]

const P = 'interactive'
const MAX_SECTIONS = 10
const MAX_ROWS = 10
const MAX_PRODUCTS = 30

function unique(values: string[], field: string): void {
  const seen = new Set<string>()
  for (const v of values) {
    if (seen.has(v)) throw invalid(field, `must be unique, '${v}' appears twice`)
    seen.add(v)
  }
}

function sectionCount(n: number, field: string): void {
  if (n < 1 || n > MAX_SECTIONS) {
    throw new WaboxError(OnPremCode.INVALID_SECTION_COUNT, `${field} must hold 1 to ${MAX_SECTIONS} sections (got ${n})`)
  }
}

function validateHeader(o: Obj, type: InteractiveType, c: MediaCollector): void {
  const header = optObject(o, 'header', P)
  if (!header) {
    if (type === 'product_list') throw missing(`${P}.header`, 'product_list messages need a text header')
    return
  }
  const path = `${P}.header`
  const mediaAllowed = type === 'button' || type === 'cta_url'
  const kind = reqEnum(header, 'type', path, ['text', 'image', 'video', 'document'] as const)
  if (kind === 'text') {
    reqString(header, 'text', path, { max: 60 })
    return
  }
  if (!mediaAllowed) throw invalid(`${path}.type`, `${type} messages only take a text header`)
  header[kind] = c.media(reqObject(header, kind, path), join(path, kind), kind, { caption: false, filename: kind === 'document' })
}

function validateButtons(action: Obj): void {
  const path = `${P}.action`
  const buttons = objects(reqArray(action, 'buttons', path, 1, 3), `${path}.buttons`)
  const ids: string[] = []
  const titles: string[] = []
  buttons.forEach((b, i) => {
    const at = join(`${path}.buttons`, i)
    reqEnum(b, 'type', at, ['reply'] as const)
    const reply = reqObject(b, 'reply', at)
    ids.push(reqString(reply, 'id', `${at}.reply`, { max: 256, pattern: /^\S(.*\S)?$/s, rule: 'must not start or end with spaces' }))
    titles.push(reqString(reply, 'title', `${at}.reply`, { max: 20 }))
  })
  unique(ids, `${path}.buttons[].reply.id`)
  unique(titles, `${path}.buttons[].reply.title`)
}

function validateList(action: Obj): void {
  const path = `${P}.action`
  reqString(action, 'button', path, { max: 20 })
  const raw = action.sections
  if (raw === undefined || raw === null) throw missing(`${path}.sections`)
  if (!Array.isArray(raw)) throw invalid(`${path}.sections`, 'must be an array')
  sectionCount(raw.length, `${path}.sections`)
  const sections = objects(raw, `${path}.sections`)
  let total = 0
  const ids: string[] = []
  sections.forEach((s, i) => {
    const at = join(`${path}.sections`, i)
    if (sections.length > 1) reqString(s, 'title', at, { max: 24 })
    else optString(s, 'title', at, { max: 24 })
    const rows = s.rows
    if (rows === undefined || rows === null) throw missing(`${at}.rows`)
    if (!Array.isArray(rows)) throw invalid(`${at}.rows`, 'must be an array')
    if (rows.length === 0) throw new WaboxError(OnPremCode.INVALID_ROW_COUNT, `${at}.rows must hold at least 1 row`)
    total += rows.length
    objects(rows, `${at}.rows`).forEach((r, j) => {
      const rowAt = join(`${at}.rows`, j)
      ids.push(reqString(r, 'id', rowAt, { max: 200 }))
      reqString(r, 'title', rowAt, { max: 24 })
      optString(r, 'description', rowAt, { max: 72 })
    })
  })
  if (total > MAX_ROWS) {
    throw new WaboxError(OnPremCode.INVALID_ROW_COUNT, `${path}.sections must hold at most ${MAX_ROWS} rows in total (got ${total})`)
  }
  unique(ids, `${path}.sections[].rows[].id`)
}

function validateProductList(action: Obj): void {
  const path = `${P}.action`
  reqString(action, 'catalog_id', path, { max: 128 })
  const raw = action.sections
  if (raw === undefined || raw === null) throw missing(`${path}.sections`)
  if (!Array.isArray(raw)) throw invalid(`${path}.sections`, 'must be an array')
  sectionCount(raw.length, `${path}.sections`)
  let total = 0
  objects(raw, `${path}.sections`).forEach((s, i) => {
    const at = join(`${path}.sections`, i)
    reqString(s, 'title', at, { max: 24 })
    const items = s.product_items
    if (items === undefined || items === null) throw missing(`${at}.product_items`)
    if (!Array.isArray(items)) throw invalid(`${at}.product_items`, 'must be an array')
    if (items.length === 0) throw new WaboxError(OnPremCode.INVALID_PRODUCT_COUNT, `${at}.product_items must hold at least 1 product`)
    total += items.length
    objects(items, `${at}.product_items`).forEach((p, j) => reqString(p, 'product_retailer_id', join(`${at}.product_items`, j), { max: 128 }))
  })
  if (total > MAX_PRODUCTS) {
    throw new WaboxError(OnPremCode.INVALID_PRODUCT_COUNT, `${path}.sections must hold at most ${MAX_PRODUCTS} products in total (got ${total})`)
  }
}

function validateFlow(action: Obj): void {
  const path = `${P}.action`
  reqEnum(action, 'name', path, ['flow'] as const)
  const params = reqObject(action, 'parameters', path)
  const at = `${path}.parameters`
  reqEnum(params, 'flow_message_version', at, ['3'] as const)
  reqString(params, 'flow_cta', at, { max: 20 })
  const id = optString(params, 'flow_id', at, { min: 1 })
  const name = optString(params, 'flow_name', at, { min: 1 })
  if (id === undefined && name === undefined) throw missing(`${at}.flow_id`, `send ${at}.flow_id or ${at}.flow_name`)
  if (id !== undefined && name !== undefined) throw invalid(at, 'send flow_id or flow_name, not both')
  optString(params, 'flow_token', at, { max: 200 })
  optEnum(params, 'mode', at, ['draft', 'published'] as const)
  const flowAction = optEnum(params, 'flow_action', at, ['navigate', 'data_exchange'] as const) ?? 'navigate'
  const payload = optObject(params, 'flow_action_payload', at)
  if (flowAction === 'data_exchange' && payload) throw notAllowed(`${at}.flow_action_payload`, 'not used with flow_action "data_exchange"')
  if (flowAction === 'navigate') {
    if (!payload) throw missing(`${at}.flow_action_payload`, 'required when flow_action is "navigate"')
    reqString(payload, 'screen', `${at}.flow_action_payload`)
    const data = payload.data
    if (data !== undefined && (!isObject(data) || Object.keys(data).length === 0)) {
      throw invalid(`${at}.flow_action_payload.data`, 'must be a non-empty object')
    }
  }
}

function validateAction(o: Obj, type: InteractiveType): void {
  const action = reqObject(o, 'action', P)
  const path = `${P}.action`
  switch (type) {
    case 'button':
      return validateButtons(action)
    case 'list':
      return validateList(action)
    case 'product':
      reqString(action, 'catalog_id', path, { max: 128 })
      reqString(action, 'product_retailer_id', path, { max: 128 })
      return
    case 'product_list':
      return validateProductList(action)
    case 'cta_url': {
      reqEnum(action, 'name', path, ['cta_url'] as const)
      const params = reqObject(action, 'parameters', path)
      reqString(params, 'display_text', `${path}.parameters`, { max: 20 })
      const url = reqString(params, 'url', `${path}.parameters`, { max: 2000 })
      if (!isHttpUrl(url)) throw invalid(`${path}.parameters.url`, 'must be an http:// or https:// URL')
      return
    }
    case 'flow':
      return validateFlow(action)
    case 'location_request_message':
      reqEnum(action, 'name', path, ['send_location'] as const)
      return
    case 'catalog_message':
      reqEnum(action, 'name', path, ['catalog_message'] as const)
      optObject(action, 'parameters', path)
      return
    // the specs name these types and no more of their shape (cloud-2026.md §1.4): the action
    // names its type, as every named action does; the rest goes to the phone as sent
    case 'call_permission_request':
    case 'voice_call':
    case 'request_contact_info':
      reqEnum(action, 'name', path, [type])
      optObject(action, 'parameters', path)
      return
    case 'carousel':
      objects(reqArray(action, 'cards', path, 1), `${path}.cards`)
      return
  }
}

/** Validates an interactive object in place (media headers are normalised) and returns it. */
export function validateInteractive(o: Obj, c: MediaCollector): Obj & { type: string } {
  const type = reqEnum(o, 'type', P, INTERACTIVE_TYPES)
  validateHeader(o, type, c)
  const body = optObject(o, 'body', P)
  if (body) reqString(body, 'text', `${P}.body`, { max: 1024 })
  else if (type !== 'product' && type !== 'catalog_message') throw missing(`${P}.body`)
  const footer = optObject(o, 'footer', P)
  if (footer) reqString(footer, 'text', `${P}.footer`, { max: 60 })
  validateAction(o, type)
  return o as Obj & { type: string }
}
