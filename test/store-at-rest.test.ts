import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEFAULT_SETTINGS } from '../src/domain/settings.js'
import { messageId } from '../src/ids.js'
import { loadAtRestKey, Sealer } from '../src/store/sealer.js'
import { createTestDatabase, describeEachDatabase } from './helpers/databases.js'

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    return e.isDirectory() ? filesUnder(p) : [p]
  })
}

describe('encryption at rest', () => {
  it('no message text or callback payload can be found in the SQLite files', async () => {
    const t = await createTestDatabase('sqlite')
    try {
      const marker = 'MARKER-' + randomBytes(8).toString('hex')
      await t.store.numbers.create({ id: '100', cc: '1', number: '5550001', displayName: 'Shop' })
      await t.store.transaction(async (tx) => {
        await tx.messages.insertOutbound([{ id: messageId(), phoneNumberId: '100', to: '15551234567', type: 'text', content: { type: 'text', text: { body: marker } }, shard: 0 }])
        await tx.callbacks.enqueue('100', { type: 'message', contact: { wa_id: '15551234567', profile: { name: 'K' } }, message: { from: '15551234567', id: 'x', timestamp: '1', type: 'text', text: { body: marker } } })
      })
      // Reads back fine through the store…
      const rows = await t.database.db.selectFrom('messages').selectAll().execute()
      expect(t.store.messages.content<{ text: { body: string } }>(rows[0]!).text.body).toBe(marker)
      // …but no file in the data directory holds it in clear, in UTF-8 or UTF-16.
      for (const file of filesUnder(t.dir)) {
        const bytes = fs.readFileSync(file)
        expect(bytes.includes(Buffer.from(marker, 'utf8')), file).toBe(false)
        expect(bytes.includes(Buffer.from(marker, 'utf16le')), file).toBe(false)
      }
    } finally {
      await t.cleanup()
    }
  })

  it('sealed data fails to open when tampered with or under another key', () => {
    const sealer = new Sealer(randomBytes(32))
    const sealed = sealer.seal('hello')
    expect(sealer.open(sealed).toString()).toBe('hello')
    const tampered = Buffer.from(sealed)
    tampered[tampered.length - 1]! ^= 1
    expect(() => sealer.open(tampered)).toThrow()
    expect(() => new Sealer(randomBytes(32)).open(sealed)).toThrow()
  })

  it('a value sealed ahead is the one sealed later, unless the key changed in between', () => {
    const oldKey = randomBytes(32)
    const newKey = randomBytes(32)
    const sealer = new Sealer(oldKey)
    const record = new Uint8Array(randomBytes(6000))
    sealer.sealAhead(record)
    const sealed = sealer.seal(record)
    expect(sealer.seal(record)).toBe(sealed)
    expect(Buffer.compare(sealer.open(sealed), record)).toBe(0)
    // an equal value in another object is sealed afresh: a new IV
    expect(sealer.seal(new Uint8Array(record)).equals(sealed)).toBe(false)

    sealer.adopt(newKey, [oldKey])
    const resealed = sealer.seal(record)
    expect(sealer.isCurrent(resealed)).toBe(true)
    expect(Buffer.compare(new Sealer(newKey).open(resealed), record)).toBe(0)
  })

  it('generates the key file once, with mode 0600, and reuses it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-key-'))
    try {
      const a = loadAtRestKey(undefined, dir)
      const b = loadAtRestKey(undefined, dir)
      expect(a.equals(b)).toBe(true)
      expect(fs.statSync(path.join(dir, 'master.key')).mode & 0o777).toBe(0o600)
      const configured = randomBytes(32)
      expect(loadAtRestKey(configured, dir).equals(configured)).toBe(true)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describeEachDatabase('phone numbers and messages', (ctx) => {
  it('stores a number with default settings and a queued message readable by id', async () => {
    const { store } = ctx()
    await store.numbers.create({ id: '200', cc: '49', number: '1701234567', displayName: 'Laden' })
    const row = await store.numbers.getByWaId('491701234567')
    expect(row?.gateway_status).toBe('unregistered')
    expect(store.numbers.settings(row!).callback_backoff_delay_ms).toBe(3000)
    const id = messageId()
    await store.messages.insertOutbound([{ id, phoneNumberId: '200', to: '15550001111', type: 'text', content: { body: 'hi' }, shard: 0 }])
    const msg = await store.messages.get(id)
    expect(msg?.status).toBe('queued')
    expect(store.messages.content(msg!)).toEqual({ body: 'hi' })
  })

  it('rolls back every write of a failed transaction', async () => {
    const { store } = ctx()
    await expect(store.transaction(async (tx) => {
      await tx.numbers.create({ id: '300', cc: '1', number: '5559999', displayName: 'X' })
      throw new Error('boom')
    })).rejects.toThrow('boom')
    expect(await store.numbers.get('300')).toBeUndefined()
  })
})

describeEachDatabase('webhook secrets at rest', (ctx, dialect) => {
  const rawSettings = async (id: string) =>
    (await ctx().database.db.selectFrom('phone_numbers').select('settings').where('id', '=', id).executeTakeFirstOrThrow()).settings

  it('seals the URL password and the custom headers; the store reads them back', async () => {
    const { store } = ctx()
    const password = 'PW-' + randomBytes(8).toString('hex')
    const header = 'HDR-' + randomBytes(8).toString('hex')
    await store.numbers.create({ id: '400', cc: '1', number: '5554000', displayName: 'Hooks' })
    const url = `https://hook-user:${password}@hooks.example.com/in`
    await store.numbers.saveSettings('400', { sent_status: true, webhooks: { ...DEFAULT_SETTINGS.webhooks, url, headers: { Authorization: `Bearer ${header}` } } })
    const raw = await rawSettings('400')
    expect(raw).not.toContain(password)
    expect(raw).not.toContain(header)
    const settings = store.numbers.settings((await store.numbers.get('400'))!)
    expect(settings.webhooks).toMatchObject({ url, headers: { Authorization: `Bearer ${header}` } })
    expect(settings.sent_status).toBe(true)
    expect(store.numbers.parseSettings(raw).webhooks.url).toBe(url)
    if (dialect === 'sqlite') {
      // nor in the database file or its WAL
      for (const file of filesUnder(ctx().dir)) {
        const bytes = fs.readFileSync(file)
        expect(bytes.includes(Buffer.from(password)), file).toBe(false)
        expect(bytes.includes(Buffer.from(header)), file).toBe(false)
      }
    }
  })

  it('still loads a row written in clear before, and seals it on the next write or at startup', async () => {
    const { store, database } = ctx()
    await store.numbers.create({ id: '401', cc: '1', number: '5554001', displayName: 'Old' })
    await store.numbers.create({ id: '402', cc: '1', number: '5554002', displayName: 'Older' })
    const legacy = (secret: string) => JSON.stringify({ webhooks: { url: `https://u:${secret}@hooks.example.com/x`, headers: { 'X-Token': secret } } })
    await database.db.updateTable('phone_numbers').set({ settings: legacy('plain-401') }).where('id', '=', '401').execute()
    await database.db.updateTable('phone_numbers').set({ settings: legacy('plain-402') }).where('id', '=', '402').execute()
    expect(store.numbers.settings((await store.numbers.get('401'))!).webhooks).toMatchObject({
      url: 'https://u:plain-401@hooks.example.com/x', headers: { 'X-Token': 'plain-401' },
    })
    // the next write seals it
    await store.numbers.saveSettings('401', store.numbers.storedSettings((await store.numbers.get('401'))!))
    expect(await rawSettings('401')).not.toContain('plain-401')
    // startup seals what is left
    expect(await store.numbers.sealWebhookSecrets()).toBe(1)
    expect(await rawSettings('402')).not.toContain('plain-402')
    expect(store.numbers.settings((await store.numbers.get('402'))!).webhooks.headers).toEqual({ 'X-Token': 'plain-402' })
    expect(await store.numbers.sealWebhookSecrets()).toBe(0)
  })
})
