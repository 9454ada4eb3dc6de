import { MemorySignalStore } from '../src/signal/memory-store.js'
import { type BundleProvider, type KeysUploadPayload, SignalAccount } from '../src/signal/account.js'
import type { SignalStateStore } from '../src/signal/state-store.js'
import type { PreKeyBundleWire } from '../src/wire/frames.js'
import { TestClock } from '../src/clock.js'

/** A stand-in for the network's pre-key directory: hands out each one-time key once. */
export class KeyDirectory {
  readonly #uploads = new Map<string, KeysUploadPayload>()

  publish(waId: string, keys: KeysUploadPayload): void {
    this.#uploads.set(waId, structuredClone(keys))
  }

  preKeysLeft(waId: string): number {
    return this.#uploads.get(waId)?.preKeys.length ?? 0
  }

  readonly bundles: BundleProvider = async (waId) => {
    const keys = this.#uploads.get(waId)
    if (!keys) throw new Error(`${waId} not registered`)
    const bundle: PreKeyBundleWire = {
      registrationId: keys.registrationId,
      deviceId: 1,
      identityKey: keys.identityKey,
      signedPreKey: keys.signedPreKey,
      kyberPreKey: keys.kyberPreKeys.shift() ?? keys.kyberPreKey,
    }
    const preKey = keys.preKeys.shift()
    if (preKey) bundle.preKey = preKey
    return bundle
  }
}

export async function openAccount(
  waId: string,
  directory: KeyDirectory,
  opts: { store?: SignalStateStore; clock?: TestClock; preKeys?: number } = {},
): Promise<SignalAccount> {
  const account = await SignalAccount.open({ waId, store: opts.store ?? new MemorySignalStore(), clock: opts.clock ?? new TestClock() })
  directory.publish(waId, await account.generateKeys(opts.preKeys ?? 5))
  return account
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)
