import type { WebhookError } from '../domain/events.js'
import {
  catalogueEntry, cloudEntry, CloudCode, OnPremCode, toOnPremCode, WebhookCode, type CloudCodeValue, type KnownCode, type OnPremCodeValue,
} from '../errors/index.js'
import type { WireErrorCode } from '../wire/frames.js'

/** Why a message failed: the On-Prem code that is stored, and a Cloud code when it is not the twin. */
export interface Failure {
  code: OnPremCodeValue
  details: string
  cloudCode?: KnownCode
}

export function failure(code: OnPremCodeValue | CloudCodeValue, details: string, cloudCode?: KnownCode): Failure {
  // a Cloud-only reason (131062) is stored as its On-Prem twin, with the Cloud code beside it
  if (cloudEntry(code)) return { code: toOnPremCode(code as CloudCodeValue, 'webhook'), details, cloudCode: code }
  return cloudCode === undefined ? { code: code as OnPremCodeValue, details } : { code: code as OnPremCodeValue, details, cloudCode }
}

/** The `statuses[].errors` object stored with the failed status. */
export function webhookErrorOf(f: Failure): WebhookError {
  const error: WebhookError = { code: f.code, title: catalogueEntry(f.code).title }
  if (f.details) error.details = f.details
  if (f.cloudCode !== undefined) error.cloud_code = f.cloudCode
  return error
}

/**
 * What a network error means for a message: a failure with its documented code, or `retry`
 * for conditions that pass (a dropped connection, a shard change). A refusal of the envelope
 * itself (bad_request, too_large, anything unknown) is permanent: sending the same ciphertext
 * again would be refused again, so it fails that message alone with the generic code.
 */
export function failureOfWireError(code: WireErrorCode, message: string): Failure | 'retry' {
  switch (code) {
    case 'not_registered':
      return notOnWhatsApp()
    case 'spam_rate_limit':
      return failure(WebhookCode.SPAM_RATE_LIMIT, message || 'spam rate limit hit')
    case 'pair_rate_limit':
      // On-Prem only knew "429 Rate limit hit"; Cloud names the pair limit
      return failure(WebhookCode.RATE_LIMIT_HIT, message || 'too many messages to this user', CloudCode.PAIR_RATE_LIMIT)
    case 'throughput_limit':
      return failure(WebhookCode.RATE_LIMIT_HIT, message || 'throughput limit hit')
    case 'messaging_limit':
      return failure(WebhookCode.SPAM_RATE_LIMIT, message || 'messaging limit tier reached')
    case 'blocked':
      return failure(OnPremCode.RECEIVER_INCAPABLE, 'recipient cannot receive messages from this business')
    case 'too_large':
      return failure(WebhookCode.GENERIC, `the encrypted message is too large for the network: ${message}`)
    case 'bad_request':
      return failure(WebhookCode.GENERIC, message || 'the network rejected the message')
    case 'wrong_shard':
    case 'unauthorized':
    case 'internal':
      return 'retry'
    default:
      return failure(WebhookCode.GENERIC, message || code)
  }
}

/** The recipient has no WhatsApp account (1013, Cloud 131026). */
export function notOnWhatsApp(): Failure {
  return failure(OnPremCode.USER_NOT_VALID, 'recipient is not a WhatsApp user')
}

/** The recipient's identity changed and the business has not acknowledged it yet (1028). */
export function identityNotAcknowledged(peer: string): Failure {
  return failure(OnPremCode.IDENTITY_CHANGE_ACK_REQUIRED, `the identity of ${peer} changed and was not acknowledged`)
}
