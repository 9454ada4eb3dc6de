import type { WebhookError } from '../domain/events.js'
import { catalogueEntry, type KnownCode, type OnPremCodeValue } from '../errors/index.js'
import type { WireErrorCode } from '../wire/frames.js'

/** Why a message failed: the On-Prem code that is stored, and a Cloud code when it is not the twin. */
export interface Failure {
  code: OnPremCodeValue
  details: string
  cloudCode?: KnownCode
}

export function failure(code: OnPremCodeValue, details: string, cloudCode?: KnownCode): Failure {
  return cloudCode === undefined ? { code, details } : { code, details, cloudCode }
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
 * for conditions that pass (a dropped connection, a shard change).
 */
export function failureOfWireError(code: WireErrorCode, message: string): Failure | 'retry' {
  switch (code) {
    case 'not_registered':
      return failure(1013, 'recipient is not a WhatsApp user')
    case 'spam_rate_limit':
      return failure(471, message || 'spam rate limit hit')
    case 'pair_rate_limit':
      // On-Prem only knew "429 Rate limit hit"; Cloud names the pair limit
      return failure(429, message || 'too many messages to this user', 131056)
    case 'throughput_limit':
      return failure(429, message || 'throughput limit hit')
    case 'messaging_limit':
      return failure(471, message || 'messaging limit tier reached')
    case 'blocked':
      return failure(1026, 'recipient cannot receive messages from this business')
    case 'bad_request':
      return failure(500, message || 'the network rejected the message')
    case 'wrong_shard':
    case 'unauthorized':
    case 'internal':
      return 'retry'
    default:
      return failure(500, message || code)
  }
}
