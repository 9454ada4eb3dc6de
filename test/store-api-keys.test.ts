import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { keysCommand, type KeysOutput } from '../src/cli/commands/keys-command.js'
import { openStoreFromConfig } from '../src/cli/open-store.js'
import { resolveConfig } from '../src/config/config.js'
import type { ApiKeyScope } from '../src/store/api-keys.js'
import type { Store } from '../src/store/store.js'
import { secretDigest } from '../src/store/users.js'
import { describeEachDatabase } from './helpers/databases.js'

describeEachDatabase('store api keys', (ctx) => {
  let n = 0
  async function number(): Promise<string> {
    n++
    const id = `keys-${n}`
    await ctx().store.numbers.create({ id, cc: '1', number: `555000${n}`, displayName: `Keys ${n}` })
    return id
  }

  it('creates a key that verifies to its number, scope and label', async () => {
    const id = await number()
    const key = await ctx().store.apiKeys.create(id, 'admin', 'ops')
    expect(key).toMatch(/^wbx_/)
    expect(await ctx().store.apiKeys.verify(key)).toEqual({ phoneNumberId: id, scope: 'admin', label: 'ops', createdAt: ctx().clock.now() })
    expect(await ctx().store.apiKeys.verify(key + 'x')).toBeUndefined()
    expect(await ctx().store.apiKeys.verify('')).toBeUndefined()
    await expect(ctx().store.apiKeys.create(id, 'root' as ApiKeyScope, 'bad')).rejects.toThrow(/scope/)
  })

  it('lists a number\'s keys oldest first with their revocation, never the key', async () => {
    const id = await number()
    const other = await number()
    const first = await ctx().store.apiKeys.create(id, 'd360', 'customer')
    const created = ctx().clock.now()
    ctx().clock.tick(1000)
    await ctx().store.apiKeys.create(id, 'monitoring', 'grafana')
    await ctx().store.apiKeys.create(other, 'd360', 'someone else')
    ctx().clock.tick(1000)
    expect(await ctx().store.apiKeys.revoke(first)).toBe(true)

    const keys = await ctx().store.apiKeys.list(id)
    expect(keys).toEqual([
      { phoneNumberId: id, scope: 'd360', label: 'customer', createdAt: created, revokedAt: created + 2000 },
      { phoneNumberId: id, scope: 'monitoring', label: 'grafana', createdAt: created + 1000, revokedAt: null },
    ])
    const text = JSON.stringify(keys)
    expect(text).not.toContain(first)
    expect(text).not.toContain(secretDigest(first))
    expect(await ctx().store.apiKeys.list('no-such-number')).toEqual([])
  })

  it('a revoked key no longer verifies; revoking twice reports nothing to revoke', async () => {
    const id = await number()
    const key = await ctx().store.apiKeys.create(id, 'd360', 'short-lived')
    expect(await ctx().store.apiKeys.revoke(key)).toBe(true)
    expect(await ctx().store.apiKeys.verify(key)).toBeUndefined()
    expect(await ctx().store.apiKeys.revoke(key)).toBe(false)
    expect(await ctx().store.apiKeys.revoke('wbx_unknown')).toBe(false)
  })
})

describe('wabox keys', () => {
  let dir: string
  const env = process.env.WABOX_DATABASE_URL
  let out: string[]
  let err: string[]
  const output: KeysOutput = { out: (l) => out.push(l), err: (l) => err.push(l) }
  const run = (...args: string[]) => keysCommand(output).parseAsync([...args, '--data-dir', dir], { from: 'user' })

  beforeAll(() => {
    // the command reads the environment too; these tests use the SQLite file in their data dir
    delete process.env.WABOX_DATABASE_URL
  })
  afterAll(() => {
    if (env !== undefined) process.env.WABOX_DATABASE_URL = env
  })
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-keys-'))
    out = []
    err = []
    await inStore((store) => store.numbers.create({ id: 'pn-1', cc: '1', number: '5550001111', displayName: 'Shop' }))
  })
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true })
  })

  /** Reads the store in the data dir, as the WebApp would. */
  async function inStore<T>(use: (store: Store) => Promise<T>): Promise<T> {
    const { database, store } = await openStoreFromConfig(resolveConfig({}, { dataDir: dir }))
    try {
      return await use(store)
    } finally {
      await database.close()
    }
  }
  const verify = (key: string) => inStore((store) => store.apiKeys.verify(key))

  it('create prints a working key once; list shows it without the key; revoke disables it', async () => {
    await run('create', '--phone-number-id', 'pn-1', '--scope', 'monitoring', '--label', 'grafana')
    expect(out).toHaveLength(1)
    const key = out[0] ?? ''
    expect(key).toMatch(/^wbx_\S+$/)
    expect(err.join('\n')).toContain('cannot be shown again')
    expect(await verify(key)).toMatchObject({ phoneNumberId: 'pn-1', scope: 'monitoring', label: 'grafana' })

    await run('create', '--phone-number-id', 'pn-1')
    const d360 = out[1] ?? ''
    expect(await verify(d360)).toMatchObject({ scope: 'd360', label: '' })

    out = []
    await run('list', '--phone-number-id', 'pn-1')
    expect(out[0]).toMatch(/^LABEL\s+SCOPE\s+CREATED\s+REVOKED$/)
    expect(out.slice(1)).toHaveLength(2)
    expect(out[1]).toMatch(/^grafana\s+monitoring\s+\d{4}-\d\d-\d\dT\S+Z\s+-$/)
    expect(out[2]).toMatch(/^-\s+d360\s+/)
    expect(out.join('\n')).not.toContain(key)

    out = []
    await run('revoke', '--key', key)
    expect(out).toEqual(['API key revoked'])
    expect(await verify(key)).toBeUndefined()
    expect(await verify(d360)).toBeDefined()
    out = []
    await run('list', '--phone-number-id', 'pn-1')
    expect(out[1]).toMatch(/^grafana\s+monitoring\s+\S+\s+\d{4}-\d\d-\d\dT\S+Z$/)
    await expect(run('revoke', '--key', key)).rejects.toThrow(/already revoked/)
  })

  it('refuses an unknown number or scope', async () => {
    await expect(run('create', '--phone-number-id', 'pn-404')).rejects.toThrow(/unknown phone number id 'pn-404'/)
    const cmd = keysCommand(output).exitOverride()
    for (const sub of cmd.commands) sub.exitOverride().configureOutput({ writeErr: (s) => err.push(s) })
    await expect(cmd.parseAsync(['create', '--phone-number-id', 'pn-1', '--scope', 'root', '--data-dir', dir], { from: 'user' }))
      .rejects.toThrow(/root/)
    expect(await inStore((store) => store.apiKeys.list('pn-1'))).toEqual([])
  })
})
