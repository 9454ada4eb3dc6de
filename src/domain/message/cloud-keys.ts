import { unexpectedKey } from '../../errors/index.js'
import { isObject, type Obj } from './fields.js'

/**
 * The keys each object of a Cloud send body may carry (cloud-api.md §1, cloud-2026.md §1.3–1.5).
 * Graph answers any other key with 100 `Unexpected key "<key>" on param "<path>"` instead of
 * dropping it, so a misspelled field is never sent without the caller knowing. Objects whose
 * fields the specs do not list (flow data, carousel cards, catalog parameters) are not looked into.
 */

/** What a key holds: an object of known keys, a list, keys chosen by the object itself, or anything (null). */
type Shape = Keys | ListOf | ((value: Obj) => Keys) | null
interface Keys {
  readonly [key: string]: Shape
}
class ListOf {
  constructor(readonly item: Shape) {}
}

const list = (s: Shape): ListOf => new ListOf(s)

const MEDIA: Keys = { id: null, link: null, caption: null, filename: null, provider: { name: null } }
const LOCATION: Keys = { latitude: null, longitude: null, name: null, address: null }
const TEXT: Keys = { text: null }

const CONTACT: Keys = {
  name: { formatted_name: null, first_name: null, last_name: null, middle_name: null, prefix: null, suffix: null },
  phones: list({ phone: null, wa_id: null, type: null }),
  emails: list({ email: null, type: null }),
  addresses: list({ street: null, city: null, state: null, zip: null, country: null, country_code: null, type: null }),
  org: { company: null, department: null, title: null },
  urls: list({ url: null, type: null }),
  birthday: null,
}

const PARAMETERS_BY_TYPE: Readonly<Record<string, Keys>> = {
  cta_url: { display_text: null, url: null },
  flow: {
    flow_message_version: null, flow_token: null, flow_id: null, flow_name: null, flow_cta: null, mode: null,
    flow_action: null, flow_action_payload: { screen: null, data: null },
  },
}

/** The action of an interactive message: every action field of §1.2, parameters by the message's type. */
function interactive(o: Obj): Keys {
  const parameters = typeof o.type === 'string' ? PARAMETERS_BY_TYPE[o.type] ?? null : null
  return {
    type: null,
    header: { type: null, text: null, image: MEDIA, video: MEDIA, document: MEDIA },
    body: TEXT,
    footer: TEXT,
    action: {
      name: null,
      button: null,
      buttons: list({ type: null, reply: { id: null, title: null } }),
      sections: list({ title: null, rows: list({ id: null, title: null, description: null }), product_items: list({ product_retailer_id: null }) }),
      catalog_id: null,
      product_retailer_id: null,
      parameters,
      cards: null,
    },
  }
}

const TEMPLATE_PARAMETER: Keys = {
  type: null, parameter_name: null, text: null, payload: null, coupon_code: null,
  currency: { fallback_value: null, code: null, amount_1000: null },
  date_time: { fallback_value: null },
  image: MEDIA, video: MEDIA, document: MEDIA, location: LOCATION,
  action: { flow_token: null, flow_action_data: null, thumbnail_product_retailer_id: null, sections: null },
}

const TEMPLATE: Keys = {
  name: null,
  language: { code: null, policy: null },
  components: list({ type: null, sub_type: null, index: null, parameters: list(TEMPLATE_PARAMETER) }),
}

/** `hsm` and `ttl` are kept here so that their own rules answer them (Cloud has neither). */
const BODY: Keys = {
  messaging_product: null, recipient_type: null, to: null, recipient: null, type: null,
  context: { message_id: null }, biz_opaque_callback_data: null, preview_url: null, hsm: null, ttl: null,
  status: null, message_id: null, typing_indicator: { type: null },
  text: { body: null, preview_url: null },
  image: MEDIA, audio: MEDIA, video: MEDIA, document: MEDIA, sticker: MEDIA,
  location: LOCATION,
  contacts: list(CONTACT),
  reaction: { message_id: null, emoji: null },
  interactive,
  template: TEMPLATE,
}

/** Graph names nested params as `template['language']` and `template['components'][0]`. */
function walk(value: unknown, shape: Shape, param: string): void {
  if (shape === null) return
  if (shape instanceof ListOf) {
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, shape.item, `${param}[${i}]`))
    return
  }
  // wrong types are the validator's to name; only objects have keys
  if (!isObject(value)) return
  const keys = typeof shape === 'function' ? shape(value) : shape
  for (const [key, inner] of Object.entries(value)) {
    const known = keys[key]
    if (known === undefined || !Object.hasOwn(keys, key)) throw unexpectedKey(key, param || 'body')
    walk(inner, known, param === '' ? key : `${param}['${key}']`)
  }
}

/** 100 naming the first key of `body` (a Cloud send or mark read) that no object of its place has. */
export function checkCloudKeys(body: Obj): void {
  walk(body, BODY, '')
}
