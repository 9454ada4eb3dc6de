import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SignalAccount } from '../src/signal/account.js'
import { KeptOpenFile } from '../src/signal/atomic-file.js'
import { FileSignalStore } from '../src/signal/file-store.js'
import { SlotFile } from '../src/signal/slot-file.js'
import { KeyDirectory, openAccount, text, utf8 } from './signal-helpers.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wabox-signal-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('FileSignalStore', () => {
  it('survives a restart in the middle of a conversation', async () => {
    const directory = new KeyDirectory()
    const phone = await openAccount('15550000001', directory, { store: new FileSignalStore(dir, { fsync: false }) })
    const business = await openAccount('15550000002', directory)
    const identity = await phone.identityKey()

    const hello = await business.encrypt(phone.waId, utf8('hello'), directory.bundles)
    expect(text((await phone.decrypt(business.waId, hello.kind, hello.body)).plaintext)).toBe('hello')
    const reply = await phone.encrypt(business.waId, utf8('hi'), directory.bundles)
    await business.decrypt(phone.waId, reply.kind, reply.body)
    // in flight while the phone restarts
    const pending = await business.encrypt(phone.waId, utf8('while you were away'), directory.bundles)

    const restarted = await SignalAccount.open({ waId: phone.waId, store: new FileSignalStore(dir) })
    expect(await restarted.identityKey()).toEqual(identity)
    expect(await restarted.hasSession(business.waId)).toBe(true)
    expect(text((await restarted.decrypt(business.waId, pending.kind, pending.body)).plaintext)).toBe('while you were away')
    const next = await restarted.encrypt(business.waId, utf8('back'), directory.bundles)
    expect(next.kind).toBe('message')
    expect(text((await business.decrypt(phone.waId, next.kind, next.body)).plaintext)).toBe('back')

    // top-ups after the restart continue the key id sequence
    const topUp = await restarted.generateKeys(2)
    expect(topUp.signedPreKey.id).toBe(1 + 2 + 2 * 5)
    // no temp files left behind
    for (const sub of await readdir(dir)) {
      const names = sub.endsWith('.json') ? [sub] : await readdir(join(dir, sub))
      expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([])
    }
  })

  it('keeps one-time and last-resort Kyber keys apart', async () => {
    const store = new FileSignalStore(dir)
    await store.setKyberPreKey(1, utf8('one-time'), false)
    await store.setKyberPreKey(2, utf8('last-resort'), true)
    await store.markKyberPreKeyUsed(1)
    await store.markKyberPreKeyUsed(2)
    const reopened = new FileSignalStore(dir)
    expect(await reopened.getKyberPreKey(1)).toBeNull()
    expect(text((await reopened.getKyberPreKey(2))!)).toBe('last-resort')
  })

  it('lands concurrent writes of one record in call order', async () => {
    const store = new FileSignalStore(dir, { fsync: false })
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.setSession('15550000009', utf8(`v${i}`))))
    expect(text((await new FileSignalStore(dir).getSession('15550000009'))!)).toBe('v49')
    await store.removeSession('15550000009')
    expect(await new FileSignalStore(dir).getSession('15550000009')).toBeNull()
  })
})

describe('FileSignalStore reads', () => {
  it('serves a record it has read or written from memory', async () => {
    const store = new FileSignalStore(dir, { fsync: false })
    await store.setPreKey(7, utf8('pre-key 7'))
    await store.setRemoteIdentity('15550000003', { publicKey: utf8('key'), firstSeenAt: 1000 })
    await store.setSession('15550000003', utf8('session'))
    const reader = new FileSignalStore(dir)
    expect(text((await reader.getPreKey(7))!)).toBe('pre-key 7')
    // an identity is decoded once: the same object each time, so its decoded key can be cached
    const identity = await reader.getRemoteIdentity('15550000003')
    expect(identity).toEqual({ publicKey: utf8('key'), firstSeenAt: 1000 })
    expect(await reader.getRemoteIdentity('15550000003')).toBe(identity)
    // the files go away behind the stores' backs: both answer from what they hold
    await rm(join(dir, 'prekeys'), { recursive: true })
    await rm(join(dir, 'identities'), { recursive: true })
    await rm(join(dir, 'sessions'), { recursive: true })
    for (const s of [store, reader]) expect(text((await s.getPreKey(7))!)).toBe('pre-key 7')
    expect(text((await store.getRemoteIdentity('15550000003'))!.publicKey)).toBe('key')
    expect(text((await store.getSession('15550000003'))!)).toBe('session')
  })

  it('takes what is on disk from one listing at open: a file added later by someone else is not looked for', async () => {
    const first = new FileSignalStore(dir)
    await first.setSession('15550000004', utf8('existing'))
    const store = new FileSignalStore(dir)
    expect(text((await store.getSession('15550000004'))!)).toBe('existing')
    await new FileSignalStore(dir).setSession('15550000005', utf8('written elsewhere'))
    await writeFile(join(dir, 'prekeys', '9.bin'), utf8('written elsewhere'))
    expect(await store.getSession('15550000005')).toBeNull()
    expect(await store.getPreKey(9)).toBeNull()
    // the store's own first write of a record goes to disk like any other
    await store.setSession('15550000006', utf8('new peer'))
    await store.setPreKey(10, utf8('pre-key 10'))
    const reopened = new FileSignalStore(dir)
    expect(text((await reopened.getSession('15550000006'))!)).toBe('new peer')
    expect(text((await reopened.getPreKey(10))!)).toBe('pre-key 10')
    expect(text((await reopened.getSession('15550000005'))!)).toBe('written elsewhere')
  })

  it('reads an identity file torn by a crash as unknown, and the next save replaces it', async () => {
    await mkdir(join(dir, 'identities'), { recursive: true })
    await writeFile(join(dir, 'identities', '15550000007.json'), '{"publicKey":"a2V5","firs')
    const store = new FileSignalStore(dir)
    expect(await store.getRemoteIdentity('15550000007')).toBeNull()
    await store.setRemoteIdentity('15550000007', { publicKey: utf8('key'), firstSeenAt: 2000 })
    expect(await new FileSignalStore(dir).getRemoteIdentity('15550000007')).toEqual({ publicKey: utf8('key'), firstSeenAt: 2000 })
  })

  it('removing records that were never written leaves the folder as it was', async () => {
    const store = new FileSignalStore(dir)
    await store.removePreKey(3)
    await store.markKyberPreKeyUsed(3)
    await store.removeSession('15550000008')
    expect(await store.getPreKey(3)).toBeNull()
    expect(await readdir(dir)).toEqual([])
  })
})

describe('SlotFile (session records)', () => {
  it('reads the newest record; a write torn mid-way falls back to the one before it', async () => {
    const path = join(dir, 'peer.bin')
    const slots = new SlotFile(path)
    expect(slots.read()).toBeNull()
    for (const n of [1, 2, 3]) await slots.write(utf8(`state ${n} `.repeat(n * 10)), { fsync: false })
    expect(text(new SlotFile(path).read()!)).toBe('state 3 '.repeat(30))
    // the fourth write lands in the slot of the second and is cut short by a crash
    const torn = Buffer.concat([Buffer.from([0x57, 0x53, 0x53, 0x31, 0, 0, 0, 3, 0, 0, 0, 200]), Buffer.alloc(20)])
    await writeFile(`${path}.1`, torn)
    const reopened = new SlotFile(path)
    expect(text(reopened.read()!)).toBe('state 3 '.repeat(30))
    await reopened.write(utf8('state 4'), { fsync: false })
    expect(text(new SlotFile(path).read()!)).toBe('state 4')
  })

  it('still finds a session stored as a plain file before slots existed, until it is rewritten', async () => {
    await mkdir(join(dir, 'sessions'), { recursive: true })
    await writeFile(join(dir, 'sessions', '15550001.bin'), utf8('old format'))
    expect(text((await new FileSignalStore(dir).getSession('15550001'))!)).toBe('old format')
    const store = new FileSignalStore(dir)
    await store.setSession('15550001', utf8('new format'))
    expect(text((await new FileSignalStore(dir).getSession('15550001'))!)).toBe('new format')
    await store.removeSession('15550001')
    expect(await new FileSignalStore(dir).getSession('15550001')).toBeNull()
  })

  it('keeps its descriptors open between writes, at most KeptOpenFile.limit in the process', async () => {
    // descriptors open on files in this test's folder
    const openFds = async () => {
      const targets = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')))
      return targets.filter((t) => t.startsWith(dir)).length
    }
    const limit = KeptOpenFile.limit
    KeptOpenFile.limit = 3
    try {
      const a = new SlotFile(join(dir, 'a.bin'))
      const b = new SlotFile(join(dir, 'b.bin'))
      for (const n of [1, 2]) await a.write(utf8(`a${n}`), { fsync: false })
      expect(await openFds()).toBe(2)
      // b's two slots push out a's least recently written one, which reopens on its next write
      for (const n of [1, 2, 3]) await b.write(utf8(`b${n}`), { fsync: false })
      expect(await openFds()).toBe(3)
      await a.write(utf8('a3'), { fsync: false })
      await a.write(utf8('a4'), { fsync: false })
      expect(await openFds()).toBe(3)
      expect(text(new SlotFile(join(dir, 'a.bin')).read()!)).toBe('a4')
      expect(text(new SlotFile(join(dir, 'b.bin')).read()!)).toBe('b3')
      a.close()
      b.remove()
      expect(await openFds()).toBe(0)
      expect((await readdir(dir)).sort()).toEqual(['a.bin.0', 'a.bin.1'])
      // a rewritten slot keeps no bytes of a longer record before it that a read could mistake
      await a.write(utf8('a5'), { fsync: true })
      expect(text(new SlotFile(join(dir, 'a.bin')).read()!)).toBe('a5')
      expect(await openFds()).toBe(0)
    } finally {
      KeptOpenFile.limit = limit
    }
  })

  it('appends through a kept descriptor after the file grew behind it', async () => {
    const path = join(dir, 'log.jsonl')
    const log = new KeptOpenFile(path, { append: true })
    log.write(utf8('one\n'))
    await writeFile(path, 'two\n', { flag: 'a' })
    log.write(utf8('three\n'), 0)
    log.close()
    expect(await readFile(path, 'utf8')).toBe('one\ntwo\nthree\n')
  })
})
