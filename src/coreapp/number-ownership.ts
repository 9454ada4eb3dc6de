import type { Clock } from '../clock.js'
import { registrationLostDetails } from '../domain/number-loss.js'
import { OnPremCode, WaboxError } from '../errors/index.js'
import { SignalAccount } from '../signal/account.js'
import type { Store } from '../store/store.js'
import { WireRequestError } from '../wire/client.js'
import type { EngineContext } from './context.js'
import { OverlaySignalStore, SignalCache } from './signal-store.js'

/**
 * The public identity key of this install's Signal identity for the number, if it has one: the
 * network lets the device that holds a number register it again when it shows the same key.
 */
export async function ownIdentityKey(store: Store, clock: Clock, phoneNumberId: string, waId: string): Promise<Uint8Array | undefined> {
  const cache = new SignalCache(store, phoneNumberId)
  if (!(await cache.local())) return undefined
  // the overlay keeps anything the account might write out of the database
  const account = await SignalAccount.open({ waId, store: new OverlaySignalStore(cache), clock })
  return account.identityKey()
}

/** A registration the network refused because another device holds the number, as the API's 409; other errors as they are. */
export function heldElsewhere(err: unknown, waId: string): unknown {
  const cause = err instanceof WaboxError ? err.cause : err
  if (!(cause instanceof WireRequestError) || cause.code !== 'registered_elsewhere') return err
  return new WaboxError(OnPremCode.RESOURCE_ALREADY_EXISTS,
    `+${waId} is registered on the network by another install (another data dir or database). To move it here, ` +
    'request the code again with "migrate": true (the other install then loses the number); otherwise use the install that holds it',
    { httpStatus: 409, cause })
}

/**
 * The network refused the number's credentials (`reason` says how). If the database still
 * holds those credentials, another install took the number: it is marked unregistered, which
 * stops its engine, and a warning says so. The mark is conditional, so of all the shards and
 * processes that notice, exactly one warns. Changed credentials mean this deployment registered
 * the number again meanwhile: nothing was lost.
 */
export async function noticeRefusedCredentials(ctx: EngineContext, phoneNumberId: string, password: string, reason: string): Promise<boolean> {
  const { store, logger } = ctx
  const row = await store.numbers.get(phoneNumberId)
  if (row?.status !== 'registered' || !row.network_secret) return false
  if (store.ctx.sealer.open(row.network_secret).toString('utf8') !== password) return false
  if (!(await store.numbers.markLost(phoneNumberId, row.network_secret))) return false
  logger.warn({ phoneNumberId, waId: row.wa_id, reason }, `${reason}. ${registrationLostDetails(row.wa_id)}`)
  return true
}
