import { SignalMessage } from '@signalapp/libsignal-client'
import { describe, expect, it } from 'vitest'
import { identityHash } from '../src/signal/account.js'
import { MemorySignalStore } from '../src/signal/memory-store.js'
import { KeyDirectory, openAccount, text, utf8 } from './signal-helpers.js'

describe('SignalAccount', () => {
  it('starts a session from a pre-key bundle, then ratchets both ways', async () => {
    const directory = new KeyDirectory()
    const alice = await openAccount('15550000001', directory)
    const bob = await openAccount('15550000002', directory)

    const first = await alice.encrypt(bob.waId, utf8('hello bob'), directory.bundles)
    expect(first.kind).toBe('prekey')
    expect(first.identityChanged).toBeUndefined()
    expect(directory.preKeysLeft(bob.waId)).toBe(4)

    const received = await bob.decrypt(alice.waId, first.kind, first.body)
    expect(text(received.plaintext)).toBe('hello bob')
    expect(received.identityChanged).toBeUndefined()

    const reply = await bob.encrypt(alice.waId, utf8('hi alice'), directory.bundles)
    expect(reply.kind).toBe('message')
    expect(text((await alice.decrypt(bob.waId, reply.kind, reply.body)).plaintext)).toBe('hi alice')

    // alice has seen bob's reply, so her session is confirmed and she stops sending pre-key messages
    for (let i = 0; i < 3; i++) {
      const a = await alice.encrypt(bob.waId, utf8(`a${i}`), directory.bundles)
      expect(a.kind).toBe('message')
      expect(text((await bob.decrypt(alice.waId, a.kind, a.body)).plaintext)).toBe(`a${i}`)
      const b = await bob.encrypt(alice.waId, utf8(`b${i}`), directory.bundles)
      expect(text((await alice.decrypt(bob.waId, b.kind, b.body)).plaintext)).toBe(`b${i}`)
    }
    // only the first message needed a bundle
    expect(directory.preKeysLeft(bob.waId)).toBe(4)
    expect(directory.preKeysLeft(alice.waId)).toBe(5)
  })

  it('consumes one-time pre-keys on the receiver and keeps the last-resort Kyber key', async () => {
    const directory = new KeyDirectory()
    const store = new MemorySignalStore()
    const bob = await openAccount('15550000002', directory, { store, preKeys: 1 })
    const alice = await openAccount('15550000001', directory)
    const carol = await openAccount('15550000003', directory)

    const fromAlice = await alice.encrypt(bob.waId, utf8('one-time keys'), directory.bundles)
    await bob.decrypt(alice.waId, fromAlice.kind, fromAlice.body)
    // ids: 1 signed, 2 last-resort kyber, 3 pre-key, 4 one-time kyber
    expect(await store.getPreKey(3)).toBeNull()
    expect(await store.getKyberPreKey(4)).toBeNull()

    // the directory is out of one-time keys: carol gets the signed key and last-resort Kyber only
    const fromCarol = await carol.encrypt(bob.waId, utf8('last resort'), directory.bundles)
    expect(text((await bob.decrypt(carol.waId, fromCarol.kind, fromCarol.body)).plaintext)).toBe('last resort')
    expect(await store.getKyberPreKey(2)).not.toBeNull()
  })

  it('decrypts messages that arrive out of order, and refuses a replay', async () => {
    const directory = new KeyDirectory()
    const alice = await openAccount('15550000001', directory)
    const bob = await openAccount('15550000002', directory)
    const hello = await alice.encrypt(bob.waId, utf8('hello'), directory.bundles)
    await bob.decrypt(alice.waId, hello.kind, hello.body)
    const ack = await bob.encrypt(alice.waId, utf8('ack'), directory.bundles)
    await alice.decrypt(bob.waId, ack.kind, ack.body)

    const sent = []
    for (let i = 0; i < 5; i++) sent.push(await alice.encrypt(bob.waId, utf8(`m${i}`), directory.bundles))
    for (const i of [4, 0, 3, 1, 2]) {
      const m = sent[i]!
      expect(text((await bob.decrypt(alice.waId, m.kind, m.body)).plaintext)).toBe(`m${i}`)
    }
    await expect(bob.decrypt(alice.waId, sent[2]!.kind, sent[2]!.body)).rejects.toThrow()
  })

  it('serializes concurrent operations on one session', async () => {
    const directory = new KeyDirectory()
    const alice = await openAccount('15550000001', directory)
    const bob = await openAccount('15550000002', directory)
    const sent = await Promise.all(Array.from({ length: 20 }, (_, i) => alice.encrypt(bob.waId, utf8(`c${i}`), directory.bundles)))
    // one bundle fetched, 20 distinct ratchet steps
    expect(directory.preKeysLeft(bob.waId)).toBe(4)
    const got = await Promise.all(sent.map((m) => bob.decrypt(alice.waId, m.kind, m.body)))
    expect(got.map((g) => text(g.plaintext))).toEqual(sent.map((_, i) => `c${i}`))
  })

  it('reports an identity change when the remote re-creates its identity', async () => {
    const directory = new KeyDirectory()
    const alice = await openAccount('15550000001', directory)
    const bob = await openAccount('15550000002', directory)
    const hello = await alice.encrypt(bob.waId, utf8('hello'), directory.bundles)
    await bob.decrypt(alice.waId, hello.kind, hello.body)
    const known = await alice.remoteIdentity(bob.waId)
    expect(known?.hash).toBe(identityHash(await bob.identityKey()))

    // bob reinstalls: new store, new identity, same wa_id
    const bob2 = await openAccount(bob.waId, directory)
    const again = await bob2.encrypt(alice.waId, utf8('new phone'), directory.bundles)
    expect(again.kind).toBe('prekey')
    const received = await alice.decrypt(bob2.waId, again.kind, again.body)
    expect(text(received.plaintext)).toBe('new phone')
    const newHash = identityHash(await bob2.identityKey())
    expect(received.identityChanged).toEqual({ hash: newHash })
    expect(newHash).toMatch(/^[A-Za-z0-9+/]{11}=$/)
    expect((await alice.remoteIdentity(bob.waId))?.hash).toBe(newHash)

    // reported once; alice's replies now go over the new session
    const reply = await alice.encrypt(bob2.waId, utf8('welcome back'), directory.bundles)
    expect(reply.identityChanged).toBeUndefined()
    expect(text((await bob2.decrypt(alice.waId, reply.kind, reply.body)).plaintext)).toBe('welcome back')
  })

  it('reports an identity change found in a fresh bundle after a session reset', async () => {
    const directory = new KeyDirectory()
    const alice = await openAccount('15550000001', directory)
    const bob = await openAccount('15550000002', directory)
    const hello = await alice.encrypt(bob.waId, utf8('hello'), directory.bundles)
    await bob.decrypt(alice.waId, hello.kind, hello.body)

    const bob2 = await openAccount(bob.waId, directory)
    await alice.resetSession(bob.waId)
    expect(await alice.hasSession(bob.waId)).toBe(false)
    const sent = await alice.encrypt(bob.waId, utf8('are you new?'), directory.bundles)
    expect(sent.identityChanged).toEqual({ hash: identityHash(await bob2.identityKey()) })
    expect(text((await bob2.decrypt(alice.waId, sent.kind, sent.body)).plaintext)).toBe('are you new?')
  })

  it('starts again from the kept state when a ratchet step was not kept (its transaction rolled back)', async () => {
    const directory = new KeyDirectory()
    const base = new MemorySignalStore()
    let keep = true
    // writes are dropped while `keep` is off, as when the transaction holding them rolls back
    const store = new Proxy(base, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown
        if (typeof value !== 'function') return value
        const write = /^(set|remove|mark)/.test(String(prop))
        return (...args: unknown[]) => (write && !keep ? Promise.resolve() : (value as (...a: unknown[]) => unknown).apply(target, args))
      },
    })
    const alice = await openAccount('15550000001', directory, { store })
    const bob = await openAccount('15550000002', directory)
    const hello = await alice.encrypt(bob.waId, utf8('hello'), directory.bundles)
    await bob.decrypt(alice.waId, hello.kind, hello.body)
    const reply = await bob.encrypt(alice.waId, utf8('hi'), directory.bundles)
    await alice.decrypt(bob.waId, reply.kind, reply.body)

    const counter = (body: Uint8Array) => SignalMessage.deserialize(new Uint8Array(body)).counter()
    keep = false
    const dropped = await alice.encrypt(bob.waId, utf8('never stored'), directory.bundles)
    keep = true
    const again = await alice.encrypt(bob.waId, utf8('stored'), directory.bundles)
    expect(again.kind).toBe('message')
    // the same chain step as the dropped one: nothing of it survived in alice's session
    expect(counter(again.body)).toBe(counter(dropped.body))
    expect(text((await bob.decrypt(alice.waId, again.kind, again.body)).plaintext)).toBe('stored')
  })

  it('stores a decryption\'s ratchet step only once its message is kept', async () => {
    const directory = new KeyDirectory()
    const store = new MemorySignalStore()
    const bob = await openAccount('15550000002', directory, { store, preKeys: 1 })
    const alice = await openAccount('15550000001', directory)
    const first = await alice.encrypt(bob.waId, utf8('first'), directory.bundles)
    const second = await alice.encrypt(bob.waId, utf8('second'), directory.bundles)

    // keeping failed (a phone killed before its inbox write): the same envelope still opens later
    const lost = bob.decryptAndKeep(alice.waId, first.kind, first.body, async () => {
      throw new Error('disk full')
    })
    await expect(lost).rejects.toThrow('disk full')
    expect(await store.getSession(alice.waId)).toBeNull()
    expect(await store.getPreKey(3)).not.toBeNull()
    const kept = await bob.decryptAndKeep(alice.waId, first.kind, first.body, async (r) => text(r.plaintext))
    expect(kept).toBe('first')
    // kept: the step is stored, so a replay is refused and the next message opens
    expect(await store.getSession(alice.waId)).not.toBeNull()
    expect(await store.getPreKey(3)).toBeNull()
    await expect(bob.decrypt(alice.waId, first.kind, first.body)).rejects.toThrow()
    expect(text((await bob.decrypt(alice.waId, second.kind, second.body)).plaintext)).toBe('second')
  })
})
