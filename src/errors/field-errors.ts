import { CloudCode, OnPremCode } from './catalogue.js'
import { WaboxError } from './wabox-error.js'

/**
 * Errors about one field of a request, each naming the field (a body path such as
 * `template.language.code`, or e.g. "query parameter 'format'") and the rule it breaks. Given in
 * On-Prem codes; the Cloud renderer maps them to their Graph twins.
 */

/** 1008: a required field is absent. */
export function missing(field: string, rule?: string): WaboxError {
  return new WaboxError(OnPremCode.PARAMETER_MISSING, `Missing required parameter ${quote(field)}${rule ? `: ${rule}` : ''}`)
}

/** 1009: a field has a value that breaks `rule`. */
export function invalid(field: string, rule: string): WaboxError {
  return new WaboxError(OnPremCode.PARAMETER_INVALID, `Invalid value for ${quote(field)}: ${rule}`)
}

/** 1010: a field the request must not carry. */
export function notAllowed(field: string, rule: string): WaboxError {
  return new WaboxError(OnPremCode.PARAMETER_NOT_REQUIRED, `Parameter ${quote(field)} is not allowed: ${rule}`)
}

/** Keys longer than this are cut: the message names the key, it need not echo the input. */
const KEY_SHOWN = 64

/** 100 in Graph's own words for a key no object of that place has, e.g. `Unexpected key "policystring" on param "template['language']"`. */
export function unexpectedKey(key: string, param: string): WaboxError {
  const text = `Unexpected key "${key.length > KEY_SHOWN ? `${key.slice(0, KEY_SHOWN)}…` : key}" on param "${param}"`
  return new WaboxError(CloudCode.INVALID_PARAMETER, text, { graphMessage: `${text}.` })
}

function quote(field: string): string {
  return field.includes("'") ? field : `'${field}'`
}
