import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { partnerCommand } from '../src/cli/commands/partner-command.js'
import { openStoreFromConfig } from '../src/cli/open-store.js'
import { resolveConfig } from '../src/config/config.js'
import { messageId } from '../src/ids.js'
import type { Store } from '../src/store/store.js'
import { hashPassword } from '../src/store/users.js'

describe('wabox partner wabas region', () => {
  let dir: string
  const saved = { url: process.env.WABOX_DATABASE_URL, pin: process.env.WABOX_CHANNEL_PIN }
  const out: string[] = []
  const err: string[] = []
  const regions = () => [`de=${path.join(dir, 'de')}`, `br=${path.join(dir, 'br')}`]
  const regionFlags = () => regions().flatMap((r) => ['--region', r])
  const run = (...args: string[]) => partnerCommand({ out: (l) => out.push(l), err: (l) => err.push(l) }).parseAsync([...args, '--data-dir', dir, ...regionFlags()], { from: 'user' })
  const inStore = async <T>(use: (store: Store) => Promise<T>): Promise<T> => {
    const { database, store } = await openStoreFromConfig(resolveConfig({}, { dataDir: dir }, { regions: regions() }))
    try {
      return await use(store)
    } finally {
      await database.close()
    }
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-region-cli-'))
    delete process.env.WABOX_DATABASE_URL
    out.length = 0
  })
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true })
    for (const [key, value] of [['WABOX_DATABASE_URL', saved.url], ['WABOX_CHANNEL_PIN', saved.pin]] as const) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  })

  it("moves a WABA's content with the channels' PIN from the environment, refuses a wrong one by name, and audits as cli", async () => {
    const { partnerId, wabaId } = await inStore(async (store) => {
      const partner = await store.partners.create('BSP')
      const client = await store.clients.create(partner.id, 'Shop')
      const waba = (await store.clients.createWaba(partner.id, client.id, 'WABA', 'DE'))!
      await store.numbers.create({ id: '7400001', cc: '49', number: '7400001', displayName: 'Laden', wabaId: waba.id })
      await store.numbers.update('7400001', { pin_hash: await hashPassword('123456') })
      await store.messages.insertOutbound([{ id: messageId(), phoneNumberId: '7400001', to: '15550001111', type: 'text', content: { text: { body: 'umziehen' } }, shard: 0 }])
      return { partnerId: partner.id, wabaId: waba.id }
    })
    const args = ['wabas', 'region', '--partner-id', partnerId, '--waba-id', wabaId, '--to', 'br']
    await expect(run(...args)).rejects.toThrow('set WABOX_CHANNEL_PIN')
    process.env.WABOX_CHANNEL_PIN = '000000'
    await expect(run(...args)).rejects.toThrow('Two-step verification PIN mismatch: The two-step verification PIN does not match the one set for phone number 7400001')
    process.env.WABOX_CHANNEL_PIN = '123456'
    await run(...args)
    expect(out).toEqual([expect.stringMatching(new RegExp(`^WABA ${wabaId}: 1 rows and 0 media files moved from DE to BR in \\d+ ms \\(2 passes\\)$`))])
    await inStore(async (store) => {
      expect(await store.ctx.regions!.get('BR')!.count('7400001')).toBe(1)
      expect(await store.ctx.regions!.get('DE')!.count('7400001')).toBe(0)
      expect((await store.audit.list(partnerId, { action: 'waba.region', limit: 5 })).map((e) => e.credentialId)).toEqual(['cli'])
    })
  })
})
