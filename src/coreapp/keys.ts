import type { Clock } from '../clock.js'
import { SignalAccount, type KeysUploadPayload } from '../signal/account.js'
import type { SignalChanges } from '../store/signal-state.js'
import type { Store } from '../store/store.js'
import { OverlaySignalStore, type SignalCache } from './signal-store.js'

/**
 * Generates the business's pre-keys (and its identity, the first time). Returns what to upload
 * and the private halves to store; the caller commits `changes` before uploading, so the network
 * never hands out a key whose private half could be lost.
 */
export async function prepareKeys(store: Store, clock: Clock, cache: SignalCache, waId: string, count: number): Promise<{ payload: KeysUploadPayload; changes: SignalChanges }> {
  const local = await cache.local()
  if (!local) {
    const overlay = new OverlaySignalStore(cache)
    const account = await SignalAccount.open({ waId, store: overlay, clock })
    return { payload: await account.generateKeys(count), changes: overlay.changes }
  }
  // ids are reserved in the database first, so processes topping up at once never collide
  const start = await store.signal.reserveKeyIds(cache.phoneNumberId, 2 + 2 * count)
  if (start === undefined) throw new Error('the Signal identity disappeared while generating keys')
  const overlay = new OverlaySignalStore(cache, { ...local, nextKeyId: start })
  const account = await SignalAccount.open({ waId, store: overlay, clock })
  const payload = await account.generateKeys(count)
  delete overlay.changes.local
  return { payload, changes: overlay.changes }
}
