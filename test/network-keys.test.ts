import { afterEach, describe, expect, it } from 'vitest'
import { WireRequestError } from '../src/wire/client.js'
import type { KeysLowPush, PreKeyBundleWire } from '../src/wire/frames.js'
import { Harness, keyUpload, nextEvent } from './network-harness.js'

let h: Harness
afterEach(async () => h?.close())

describe('network pre-key directory', () => {
  it('hands out bundles, consuming one EC and one Kyber one-time key each, then the last-resort Kyber key', async () => {
    h = await Harness.start()
    const business = await h.register('1', '5550100', 'Keys Inc')
    const phone = await h.register('1', '5550101')
    const owner = await h.connect(business)
    expect(await owner.request({ ...keyUpload(12, 1) })).toEqual({ preKeysLeft: 12 })

    const asker = await h.connect(phone)
    const first = await asker.request<PreKeyBundleWire>({ t: 'keys.get', waId: business.waId })
    expect(first).toMatchObject({ registrationId: 4242, deviceId: 1, signedPreKey: { id: 1 }, preKey: { id: 1 }, kyberPreKey: { id: 1 } })
    expect(Buffer.from(first.identityKey)).toEqual(Buffer.alloc(33, 1))
    const second = await asker.request<PreKeyBundleWire>({ t: 'keys.get', waId: business.waId })
    expect(second.preKey?.id).toBe(2)
    expect(second.kyberPreKey.id).toBe(1000) // one-time Kyber keys are gone: last resort
    expect(Buffer.from(second.kyberPreKey.publicKey)).toEqual(Buffer.alloc(1568, 4))

    const relogin = h.client()
    await relogin.connect()
    expect(await relogin.login(business.waId, business.password)).toMatchObject({ preKeysLeft: 10 })
  })

  it('pushes keys.low to the owner when one-time pre-keys fall below the threshold', async () => {
    h = await Harness.start()
    const business = await h.register('1', '5550110', 'Keys Inc')
    const phone = await h.register('1', '5550111')
    const owner = await h.connect(business)
    await owner.request({ ...keyUpload(11, 0) })
    const asker = await h.connect(phone)
    const low = nextEvent<KeysLowPush>(owner, 'keys.low')
    await asker.request({ t: 'keys.get', waId: business.waId }) // 10 left: not low yet
    await asker.request({ t: 'keys.get', waId: business.waId }) // 9 left
    expect(await low).toMatchObject({ t: 'keys.low', preKeysLeft: 9 })
    // Topping up answers with the new count.
    expect(await owner.request({ ...keyUpload(0, 0), preKeys: [{ id: 100, publicKey: new Uint8Array(33) }] })).toEqual({ preKeysLeft: 10 })
  })

  it('answers a retried keys.get id with the same bundle without consuming another key', async () => {
    h = await Harness.start()
    const business = await h.register('1', '5550120', 'Keys Inc')
    const phone = await h.register('1', '5550121')
    await (await h.connect(business)).request({ ...keyUpload(5, 0) })
    const asker = await h.connect(phone)
    const a = await asker.request<PreKeyBundleWire>({ t: 'keys.get', id: 'get-1', waId: business.waId })
    const b = await asker.request<PreKeyBundleWire>({ t: 'keys.get', id: 'get-1', waId: business.waId })
    expect(b).toEqual(a)
    const c = await asker.request<PreKeyBundleWire>({ t: 'keys.get', waId: business.waId })
    expect(c.preKey?.id).toBe(2)
  })

  it('drops old one-time keys when the identity key changes, and bundles without one-time keys have no preKey', async () => {
    h = await Harness.start()
    const phone = await h.register('1', '5550130')
    const other = await h.register('1', '5550131')
    const owner = await h.connect(phone)
    await owner.request({ ...keyUpload(5, 0) })
    expect(await owner.request({ ...keyUpload(0, 0, 9) })).toEqual({ preKeysLeft: 0 })
    const bundle = await (await h.connect(other)).request<PreKeyBundleWire>({ t: 'keys.get', waId: phone.waId })
    expect(bundle.preKey).toBeUndefined()
    expect(Buffer.from(bundle.identityKey)).toEqual(Buffer.alloc(33, 9))
  })

  it('answers not_registered for unknown numbers and not_found before any upload', async () => {
    h = await Harness.start()
    const phone = await h.register('1', '5550140')
    const other = await h.register('1', '5550141')
    const client = await h.connect(phone)
    await expect(client.request({ t: 'keys.get', waId: '19999999' })).rejects.toMatchObject({ code: 'not_registered' })
    const err = await client.request({ t: 'keys.get', waId: other.waId }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WireRequestError)
    expect(err).toMatchObject({ code: 'not_found' })
  })
})
