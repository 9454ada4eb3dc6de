import { describe, expect, it } from 'vitest'
import { webhookErrorOf, failure } from '../src/coreapp/failures.js'
import { PENDING_VALIDITY_MS, pendingVerdict } from '../src/domain/validity.js'
import { cloudWebhookError } from '../src/webhooks/format-cloud.js'

describe('pending validity (408) and TTL (410)', () => {
  const accepted = Date.UTC(2026, 0, 1)

  it('fails a message without a TTL once it was pending more than a day', () => {
    expect(pendingVerdict(accepted, null, accepted + PENDING_VALIDITY_MS)).toBeUndefined()
    expect(pendingVerdict(accepted, null, accepted + PENDING_VALIDITY_MS + 1)).toBe(408)
  })

  it('lets a message with its own TTL follow that TTL only', () => {
    const longTtl = accepted + 7 * PENDING_VALIDITY_MS
    expect(pendingVerdict(accepted, longTtl, accepted + 3 * PENDING_VALIDITY_MS)).toBeUndefined()
    expect(pendingVerdict(accepted, longTtl, longTtl)).toBe(410)
    expect(pendingVerdict(accepted, accepted + 60_000, accepted + 60_000)).toBe(410)
  })

  it('renders 408 as On-Prem "Message is not valid" and its Cloud twin 131026', () => {
    const error = webhookErrorOf(failure(408, 'pending too long'))
    expect(error).toEqual({ code: 408, title: 'Message is not valid', details: 'pending too long' })
    expect(cloudWebhookError(error)).toMatchObject({ code: 131026, title: 'Message undeliverable', error_data: { details: 'pending too long' } })
  })
})
