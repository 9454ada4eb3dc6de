import net from 'node:net'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStoreFromConfig } from '../src/cli/open-store.js'
import { resolveConfig } from '../src/config/config.js'
import { DatabaseUnavailableError } from '../src/errors/index.js'
import { BatchWriter } from '../src/store/batch-writer.js'
import { openDatabase, type Database } from '../src/store/database.js'
import { withoutStatementBound } from '../src/store/engines/bounds.js'
import { createServerDatabase, createTestDatabase, DIALECTS, type TestDatabase } from './helpers/databases.js'
import { startFreezableProxy, type FreezableProxy } from './helpers/freezable-proxy.js'

/** Accepts connections and never answers: a database server under SIGSTOP, as its clients see it. */
async function silentServer(): Promise<{ url(scheme: string): string; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket.on('error', () => undefined))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    url: (scheme) => `${scheme}://wabox:secret@127.0.0.1:${port}/wabox`,
    connections: () => sockets.size,
    close: () => new Promise((resolve) => {
      sockets.forEach((s) => s.destroy())
      server.close(() => resolve())
    }),
  }
}

describe('a database server that accepts connections and never answers', () => {
  for (const scheme of ['postgres', 'mysql']) {
    it(`${scheme}: a statement fails as DatabaseUnavailableError after the connection bound instead of waiting forever`, async () => {
      const server = await silentServer()
      const database = openDatabase({ url: server.url(scheme), acquireTimeoutMs: 200 })
      try {
        const err = await sql`select 1`.execute(database.db).catch((e: unknown) => e)
        expect(err).toBeInstanceOf(DatabaseUnavailableError)
        expect(database.engine.classify(err)).toBe('connection-lost')
        expect(server.connections()).toBeGreaterThan(0)
      } finally {
        await database.close()
        await server.close()
      }
    }, 5_000)
  }
})

describe('a batch the database did not answer', () => {
  it('fails all its callers after one wait instead of retrying each of them alone', async () => {
    const writes: number[] = []
    const writer = new BatchWriter<number>(async (items) => {
      writes.push(items.length)
      throw new DatabaseUnavailableError('the database did not answer a statement within 30000 ms')
    }, { maxBatch: 10 })
    const results = await Promise.allSettled([1, 2, 3].map((n) => writer.add(n)))
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected'])
    expect(writes).toEqual([3])
  })
})

for (const dialect of DIALECTS.filter((d) => d !== 'sqlite')) {
  describe(`a server that stops answering mid-connection [${dialect}]`, () => {
    let test: TestDatabase
    let proxy: FreezableProxy
    let database: Database
    /** The test database, reached through the proxy, with bounds short enough for a test. */
    const open = () => {
      const url = new URL(test.server!.url)
      url.hostname = '127.0.0.1'
      url.port = String(proxy.port)
      return openDatabase({ ...test.server!, url: url.toString(), poolSize: 2, statementTimeoutMs: 300, acquireTimeoutMs: 300 })
    }
    beforeAll(async () => {
      test = await createTestDatabase(dialect, { label: 'bounds' })
      proxy = await startFreezableProxy(Number(new URL(test.server!.url).port || (dialect === 'mysql' ? 3306 : 5432)))
      database = open()
    })
    afterAll(async () => {
      proxy?.thaw()
      await database?.close()
      await proxy?.close()
      await test?.cleanup()
    })

    const one = async (db = database) => Number((await sql<{ n: number }>`select 1 as n`.execute(db.db)).rows[0]!.n)

    it('fails a statement and a transaction within the bound while frozen, and works again once the server answers', async () => {
      expect(await one()).toBe(1)
      proxy.freeze()
      await expect(one()).rejects.toBeInstanceOf(DatabaseUnavailableError)
      const inTransaction = database.db.transaction().execute(async (trx) => sql`select 1`.execute(trx))
      await expect(inTransaction).rejects.toBeInstanceOf(DatabaseUnavailableError)
      proxy.thaw()
      expect(await one()).toBe(1)
    }, 10_000)

    it('lets a migration run statements longer than the bound; outside one such a statement fails', async () => {
      // a statement that really runs longer than the test's bound: here time must pass
      const slow = dialect === 'postgres' ? sql`select pg_sleep(0.6)` : sql`select sleep(0.6)`
      await expect(slow.execute(database.db)).rejects.toBeInstanceOf(DatabaseUnavailableError)
      await expect(withoutStatementBound(() => slow.execute(database.db))).resolves.toBeDefined()
      expect(await one()).toBe(1)
    }, 10_000)

    it('takes the statement bound from WABOX_DATABASE_TIMEOUT (--database-timeout)', async () => {
      const server = await createServerDatabase(dialect, 'timeout')
      const env = { WABOX_DATA_DIR: test.dir, WABOX_DATABASE_URL: server.url, WABOX_MASTER_KEY: 'ab'.repeat(32) }
      const opened = await openStoreFromConfig(resolveConfig({ ...env, WABOX_DATABASE_TIMEOUT: '1' }))
      try {
        // longer than the 1 s bound set through the environment: here time must pass
        const slow = dialect === 'postgres' ? sql`select pg_sleep(1.5)` : sql`select sleep(1.5)`
        await expect(slow.execute(opened.database.db)).rejects.toBeInstanceOf(DatabaseUnavailableError)
      } finally {
        await opened.database.close()
        await server.drop()
      }
    }, 30_000)

    it('closes while the server is frozen: a shutdown does not wait for the server', async () => {
      const other = open()
      expect(await one(other)).toBe(1)
      proxy.freeze()
      try {
        await other.close()
      } finally {
        proxy.thaw()
      }
    }, 5_000)
  })
}
