import { catalogueEntry, type KnownCode } from './catalogue.js'
import { WaboxError } from './wabox-error.js'

/** Error object of the On-Prem envelope and of On-Prem statuses[].errors. */
export interface OnPremErrorObject {
  code: number
  title: string
  details?: string
}

/** On-Prem failure body (onprem-api.md §0). */
export interface OnPremErrorBody {
  meta: { api_status: 'stable'; version: string }
  errors: OnPremErrorObject[]
}

/** Graph failure body (cloud-api.md §4.1). */
export interface CloudErrorBody {
  error: {
    message: string
    type: 'OAuthException'
    code: number
    /** Only when the error has one (Graph sends it for some codes, e.g. 33 with 100). */
    error_subcode?: number
    error_data: { messaging_product: 'whatsapp'; details: string }
    fbtrace_id: string
  }
}

/** Error object of Cloud statuses[].errors and value.errors (cloud-api.md §3.5). */
export interface CloudWebhookError {
  code: number
  title: string
  message: string
  error_data: { details: string }
  href: string
}

/** Where Meta's webhook errors point (cloud-api.md §3.5). */
const CLOUD_ERROR_HREF = 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/'

/** A Cloud webhook error object; its message is the title, as Meta sends it. */
export function cloudWebhookErrorObject(code: number, title: string, details: string): CloudWebhookError {
  return { code, title, message: title, error_data: { details }, href: CLOUD_ERROR_HREF }
}

export interface WebhookErrorPair {
  onPrem: OnPremErrorObject
  cloud: CloudWebhookError
}

/** On-Prem response body; the code is translated to the On-Prem dialect if needed. */
export function renderOnPrem(err: WaboxError, version: string): OnPremErrorBody {
  const code = err.codeFor('onprem')
  return {
    meta: { api_status: 'stable', version },
    errors: [{ code, title: catalogueEntry(code).title, details: err.details }],
  }
}

/** Graph response body; the code is translated to the Cloud dialect if needed. */
export function renderCloud(err: WaboxError, fbtraceId: string): CloudErrorBody {
  const code = err.codeFor('cloud')
  return {
    error: {
      message: `(#${code}) ${err.graphMessage ?? catalogueEntry(code).title}`,
      type: 'OAuthException',
      code,
      ...(err.subcode !== undefined ? { error_subcode: err.subcode } : {}),
      error_data: { messaging_product: 'whatsapp', details: err.details },
      fbtrace_id: fbtraceId,
    },
  }
}

/**
 * The error object of a failed status in both dialects. On-Prem omits details when none are
 * given; Cloud always carries them, falling back to the title as Meta does.
 */
export function webhookError(err: WaboxError): WebhookErrorPair
export function webhookError(code: KnownCode, details?: string): WebhookErrorPair
export function webhookError(codeOrErr: KnownCode | WaboxError, details?: string): WebhookErrorPair {
  // a throwaway WaboxError gives the same code translation as the sync renderers
  const err = codeOrErr instanceof WaboxError ? codeOrErr : new WaboxError(codeOrErr, details ?? '')
  const text = codeOrErr instanceof WaboxError ? codeOrErr.details : details
  const onPremCode = err.codeFor('onprem', 'webhook')
  const cloudCode = err.codeFor('cloud', 'webhook')
  const onPremTitle = catalogueEntry(onPremCode).title
  const cloudTitle = catalogueEntry(cloudCode).title
  const onPrem: OnPremErrorObject = { code: onPremCode, title: onPremTitle }
  if (text) onPrem.details = text
  return {
    onPrem,
    cloud: cloudWebhookErrorObject(cloudCode, cloudTitle, text || cloudTitle),
  }
}
