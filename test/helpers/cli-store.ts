import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest'
import type { KeysOutput } from '../../src/cli/commands/keys-command.js'
import { openStoreFromConfig } from '../../src/cli/open-store.js'
import { resolveConfig } from '../../src/config/config.js'
import type { Store } from '../../src/store/store.js'

export interface CliStore {
  /** This test's data directory (SQLite). */
  dir(): string
  /** What the command printed on stdout and stderr, per line; emptied before each test. */
  out: string[]
  err: string[]
  output: KeysOutput
  /** Runs `use` on the store in the data dir, as the WebApp would see it. */
  inStore<T>(use: (store: Store) => Promise<T>): Promise<T>
}

/**
 * A fresh data directory per test for in-process runs of a store command, seeded by `seed`.
 * The commands read the environment too: WABOX_DATABASE_URL is set aside meanwhile.
 */
export function cliStore(seed: (store: Store) => Promise<unknown>): CliStore {
  let dir = ''
  const env = process.env.WABOX_DATABASE_URL
  const ctx: CliStore = {
    dir: () => dir,
    out: [],
    err: [],
    output: { out: (l) => ctx.out.push(l), err: (l) => ctx.err.push(l) },
    async inStore(use) {
      const { database, store } = await openStoreFromConfig(resolveConfig({}, { dataDir: dir }))
      try {
        return await use(store)
      } finally {
        await database.close()
      }
    },
  }
  beforeAll(() => {
    delete process.env.WABOX_DATABASE_URL
  })
  afterAll(() => {
    if (env !== undefined) process.env.WABOX_DATABASE_URL = env
  })
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-cli-store-'))
    ctx.out.length = 0
    ctx.err.length = 0
    await ctx.inStore(seed)
  })
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return ctx
}
