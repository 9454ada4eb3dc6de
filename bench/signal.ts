/**
 * What Signal costs per message, in this process alone: one business account and M phone
 * accounts in memory (no database, no network), as the CoreApp and the phones use them.
 *
 *   node --import tsx bench/signal.ts [M=1000] [K=20000]
 *
 * - new session: the business encrypts to a phone it has no session with (pre-key bundle,
 *   PQXDH, first message), and the phone decrypts that pre-key message;
 * - established: K messages round-robin over phones that greeted the business first (as the
 *   end-to-end bench's phones do), encrypted by the business, then decrypted by the phones.
 *
 * Prints CPU-µs per operation (`process.cpuUsage()`, all threads) and operations per second.
 * Run with LD_PRELOAD=…/libjemalloc.so.2 to compare allocators.
 */
import { performance } from 'node:perf_hooks'
import { SignalAccount, type EncryptResult, type KeysUploadPayload } from '../src/signal/account.js'
import { MemorySignalStore } from '../src/signal/memory-store.js'
import type { PreKeyBundleWire } from '../src/wire/frames.js'

const M = Number(process.argv[2] ?? 1000)
const K = Number(process.argv[3] ?? 20000)
const text = new TextEncoder().encode('{"type":"text","text":{"body":"Your order has shipped and arrives on Tuesday."}}')

/** The bundle the network would hand out for the i-th one-time pre-key of `keys`. */
function bundleOf(keys: KeysUploadPayload, i: number): PreKeyBundleWire {
  return {
    registrationId: keys.registrationId, deviceId: 1, identityKey: keys.identityKey, signedPreKey: keys.signedPreKey,
    preKey: keys.preKeys[i], kyberPreKey: keys.kyberPreKeys[i] ?? keys.kyberPreKey,
  }
}

async function measure(label: string, count: number, run: () => Promise<void>): Promise<void> {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await run()
  const s = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  console.log(`${label.padEnd(34)} ${((cpu.user + cpu.system) / count).toFixed(0).padStart(5)} CPU-µs each   ${Math.round(count / s).toLocaleString('en').padStart(7)}/s`)
}

const noBundle = (): Promise<PreKeyBundleWire> => Promise.reject(new Error('no bundle expected: a session exists'))
const business = await SignalAccount.open({ waId: '15550000000', store: new MemorySignalStore() })
const businessKeys = await business.generateKeys(M)
const phones: SignalAccount[] = []
const phoneKeys: KeysUploadPayload[] = []
for (let i = 0; i < 2 * M; i++) {
  const phone = await SignalAccount.open({ waId: String(4915000000000 + i), store: new MemorySignalStore() })
  phones.push(phone)
  phoneKeys.push(await phone.generateKeys(1))
}
const established = phones.slice(0, M)
const fresh = phones.slice(M)

// the established phones greet the business first, so it answers with plain messages
for (const [i, phone] of established.entries()) {
  const hello = await phone.encrypt(business.waId, text, async () => bundleOf(businessKeys, i))
  await business.decrypt(phone.waId, hello.kind, hello.body)
}

const firsts: EncryptResult[] = []
await measure('new session: business encrypts', M, async () => {
  for (const [i, phone] of fresh.entries()) firsts.push(await business.encrypt(phone.waId, text, async () => bundleOf(phoneKeys[M + i]!, 0)))
})
await measure('new session: phone decrypts', M, async () => {
  for (const [i, phone] of fresh.entries()) await phone.decrypt(business.waId, firsts[i]!.kind, firsts[i]!.body)
})

const sent: EncryptResult[] = []
await measure('established: business encrypts', K, async () => {
  for (let k = 0; k < K; k++) sent.push(await business.encrypt(established[k % M]!.waId, text, noBundle))
})
await measure('established: phone decrypts', K, async () => {
  for (let k = 0; k < K; k++) await established[k % M]!.decrypt(business.waId, sent[k]!.kind, sent[k]!.body)
})
