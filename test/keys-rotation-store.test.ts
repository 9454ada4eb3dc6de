import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { expect, it } from 'vitest'
import { messageId } from '../src/ids.js'
import { countNotCurrent, endRotation, resealAll, resealUntilCurrent, setSealingKey } from '../src/store/key-rotation.js'
import { MasterKeyFiles } from '../src/store/master-key-files.js'
import { openRegions } from '../src/store/regions.js'
import { keyIdOf, loadAtRestKeys, masterKeyFile, nextMasterKeyFile, Sealer } from '../src/store/sealer.js'
import { emptySignalChanges } from '../src/store/signal-state.js'
import { Store } from '../src/store/store.js'
import { describeEachDatabase } from './helpers/databases.js'

const PHONE = 'rot-store'

describeEachDatabase('master-key rotation in the store', (ctx) => {
  it('re-seals every sealed column (composite keys too) in batches, resumes from its progress, and the old key opens nothing after', async () => {
    const oldKey = randomBytes(32)
    const newKey = randomBytes(32)
    const store = Store.open(ctx().database, new Sealer(oldKey), ctx().clock)
    await store.numbers.create({ id: PHONE, cc: '1', number: '5554100', displayName: 'Rotation' })
    await store.numbers.saveSettings(PHONE, { webhooks: { url: 'https://hooks.example/x', headers: {} } as never })
    const secret = await store.callbacks.rotateWebhookSecret(PHONE)
    const changes = emptySignalChanges()
    for (let i = 0; i < 5; i++) {
      changes.sessions.set(`1555200${i}.1`, Buffer.from(`session ${i}`))
      changes.preKeys.set(i + 1, Buffer.from(`pre-key ${i}`))
    }
    changes.signedPreKeys.set(1, Buffer.from('signed'))
    changes.local = { identityKeyPair: Buffer.from('identity'), registrationId: 7, nextKeyId: 10 }
    await store.signal.apply(PHONE, changes)
    const bodies = Array.from({ length: 5 }, (_, i) => ({ to: '15552000', type: 'text', text: { body: `m${i}` } }))
    for (const content of bodies) await store.messages.insertOutbound([{ id: messageId(), phoneNumberId: PHONE, to: '15552000', type: 'text', shard: 0, expiresAt: null, content }])

    const ring = new Sealer(newKey, [oldKey])
    const rotated = Store.open(ctx().database, ring, ctx().clock)
    const total = await countNotCurrent(ctx().database, ring)
    // settings, webhook secret, identity, 5 sessions, 6 keys, 5 message bodies
    expect(total).toBe(19)

    // a first run stopped once it re-sealed a few values (as a crash would), then resumed
    await expect(resealAll(ctx().database, ring, 3, async (r) => {
      if (r.resealed >= 4) throw new Error('stop')
    })).rejects.toThrow('stop')
    const left = await countNotCurrent(ctx().database, ring)
    expect(left).toBeLessThan(total)
    expect(left).toBeGreaterThan(0)
    const report = await resealAll(ctx().database, ring, 3)
    expect(report.resealed).toBe(left)
    await endRotation(ctx().database)
    expect(await countNotCurrent(ctx().database, ring)).toBe(0)
    const sample = await store.ctx.db.selectFrom('messages').select('content').limit(1).executeTakeFirstOrThrow()
    expect(() => new Sealer(oldKey).open(sample.content)).toThrow()

    // readable with the new key alone
    const only = Store.open(ctx().database, new Sealer(newKey), ctx().clock)
    for (const s of [rotated, only]) {
      expect(await s.callbacks.webhookSecret(PHONE)).toBe(secret)
      expect(s.numbers.settings((await s.numbers.get(PHONE))!).webhooks.url).toBe('https://hooks.example/x')
      expect(Buffer.from((await s.signal.session(PHONE, '15552003.1'))!).toString()).toBe('session 3')
      expect(Buffer.from((await s.signal.key(PHONE, 'pre', 4))!).toString()).toBe('pre-key 3')
      expect(Buffer.from((await s.signal.local(PHONE))!.identityKeyPair).toString()).toBe('identity')
      const rows = await s.ctx.db.selectFrom('messages').selectAll().where('phone_number_id', '=', PHONE).orderBy('seq').execute()
      expect(rows.map((r) => s.messages.content<unknown>(r))).toEqual(bodies)
    }
  })

  it('a running process holds a staged key for reading, seals with it from the beat after the database names it, reports it, and drops the old key once master.key is replaced', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-keyring-'))
    try {
      const files = new MasterKeyFiles(dir)
      const keys = loadAtRestKeys(undefined, dir)
      const oldKey = keys.primary
      const sealer = new Sealer(keys.primary, keys.older, files)
      const store = Store.open(ctx().database, sealer, ctx().clock)
      const eu = sealer.forRegion('eu')
      const reported = async () => (await store.nodes.live(undefined, 60_000)).find((n) => n.id === 'api-1')?.sealingKeyId
      const beat = () => store.nodes.heartbeat({ id: 'api-1', kind: 'webapp' })

      await beat()
      expect(await reported()).toBe(keyIdOf(oldKey))
      const before = sealer.seal('before')
      const euBefore = eu.seal('eu before')

      // rotate-master stages the next key: held for reading at once (even before this process
      // beats again, a value another process sealed with it opens), sealing with the old one still
      const newKey = randomBytes(32)
      fs.writeFileSync(nextMasterKeyFile(dir), newKey.toString('hex') + '\n', { mode: 0o600 })
      expect(sealer.open(new Sealer(newKey).seal('elsewhere')).toString()).toBe('elsewhere')
      await beat()
      expect(await reported()).toBe(keyIdOf(oldKey))
      // the database names it: the next beat seals with it and says so
      await setSealingKey(ctx().database, keyIdOf(newKey))
      await beat()
      expect(await reported()).toBe(keyIdOf(newKey))
      const during = sealer.seal('during')
      expect(sealer.isCurrent(during)).toBe(true)
      expect(sealer.isCurrent(before)).toBe(false)
      expect(sealer.open(before).toString()).toBe('before')
      // the region view follows: new region values under the new key's region key, old ones still open
      const euDuring = eu.seal('eu during')
      expect(eu.isCurrent(euDuring) && !eu.isCurrent(euBefore)).toBe(true)
      expect(eu.open(euBefore).toString()).toBe('eu before')
      expect(() => new Sealer(oldKey).forRegion('eu').open(euDuring)).toThrow()

      // a damaged file is not adopted: the ring stays as it was
      fs.writeFileSync(nextMasterKeyFile(dir), 'not a key\n')
      await beat()
      expect(await reported()).toBe(keyIdOf(newKey))
      fs.writeFileSync(nextMasterKeyFile(dir), newKey.toString('hex') + '\n')

      // the rotation ends: master.key.next renamed over master.key, the old key leaves the ring
      fs.renameSync(nextMasterKeyFile(dir), masterKeyFile(dir))
      await beat()
      expect(await reported()).toBe(keyIdOf(newKey))
      expect(sealer.open(during).toString()).toBe('during')
      expect(() => sealer.open(before)).toThrow(/not in the keyring/)
      expect(() => eu.open(euBefore)).toThrow()
      expect(eu.open(euDuring).toString()).toBe('eu during')
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

// its own database: every sealed value there is under the two keys of this test
describeEachDatabase('master-key rotation with a late writer', (ctx) => {
  it('a value sealed with the old key after the pass went by it (a process adopting late) is re-sealed by a further pass', async () => {
    const oldKey = randomBytes(32)
    const ring = new Sealer(randomBytes(32), [oldKey])
    const late = Store.open(ctx().database, new Sealer(oldKey), ctx().clock)
    const send = (s: Store, body: string) => s.messages.insertOutbound([{ id: messageId(), phoneNumberId: 'rot-late', to: '15552000', type: 'text', shard: 0, expiresAt: null, content: { to: '15552000', type: 'text', text: { body } } }])
    await late.numbers.create({ id: 'rot-late', cc: '1', number: '5554101', displayName: 'Late' })
    await send(late, 'first')
    expect((await resealAll(ctx().database, ring, 2)).resealed).toBe(1)
    await send(late, 'late')
    const report = await resealUntilCurrent(ctx().database, ring, 2)
    expect(report).toMatchObject({ resealed: 1, left: 0 })
    expect(await countNotCurrent(ctx().database, ring)).toBe(0)
  })
})

// a region database of its own (SQLite in a directory, whatever the home engine)
describeEachDatabase('master-key rotation of region content', (ctx) => {
  it('re-seals the content of every region database with the region key of the new master key', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-rotate-region-'))
    const oldKey = randomBytes(32)
    const newKey = randomBytes(32)
    const sealer = new Sealer(oldKey)
    const regions = await openRegions([{ name: 'DE', url: undefined, sqlitePath: path.join(dir, 'region.db'), mediaRoot: path.join(dir, 'media') }], sealer, ctx().clock)
    try {
      const de = regions.get('DE')!
      const rows = Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, phoneNumberId: 'p1', kind: 'content' as const, value: de.sealer.sealJson({ body: `regional ${i}` }) }))
      await de.put(rows)
      // the process adopts the new key: its region sealer follows
      sealer.adopt(newKey, [oldKey])
      const report = await resealUntilCurrent(ctx().database, sealer, 2, { regions })
      expect(report.left).toBe(0)
      expect(report.resealed).toBeGreaterThanOrEqual(5)
      const stored = await de.get(rows.map((r) => r.key))
      const only = new Sealer(newKey).forRegion('DE')
      expect(rows.map((r) => only.openJson<{ body: string }>(stored.get(r.key)!).body)).toEqual(rows.map((_, i) => `regional ${i}`))
      expect(() => new Sealer(oldKey).forRegion('DE').open(stored.get('k0')!)).toThrow()
    } finally {
      await regions.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
