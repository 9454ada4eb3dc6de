import type { Logger } from 'pino'
import { qualityUpdateValue, restrictionUpdateValue, type TierEvent } from '../domain/messaging-tiers.js'
import type { Account } from './accounts.js'
import type { Relay } from './relay.js'
import type { WriteBatcher } from './write-batcher.js'

/**
 * Each tier move and quality flag of a business number becomes a durable `account.update` of
 * field `phone_number_quality_update` to that number, and a flag also an `account_update`
 * (ACCOUNT_RESTRICTION: business-initiated messages refused until it expires), queued in the
 * order they happened (each in the next batch: a move found inside another batch does not wait for it).
 */
export function tierUpdates(deps: { batcher: WriteBatcher; relay: Relay; logger: Logger }) {
  return (business: Account, event: TierEvent): void => {
    const quality = qualityUpdateValue(`+${business.cc} ${business.phone}`, event)
    const until = event.restrictedUntil
    deps.batcher.run(async (_trx, parts) => {
      deps.relay.queueUpdate(parts, business.waId, 'phone_number_quality_update', quality)
      if (until !== undefined) deps.relay.queueUpdate(parts, business.waId, 'account_update', restrictionUpdateValue(business.waId, until))
    }).catch((err: unknown) => deps.logger.error({ err, business: business.waId, event: event.event }, 'tier update not queued'))
  }
}
