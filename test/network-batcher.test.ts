import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openNetworkDatabase, type NetworkDb } from '../src/network/database.js'
import { WireFailure } from '../src/network/wire-failure.js'
import { ServerClosing, WriteBatcher, type Trx } from '../src/network/write-batcher.js'
import { silent } from './network-harness.js'

let dir: string
let db: NetworkDb
let closeDb: (() => Promise<void>) | undefined
afterEach(async () => {
  await closeDb?.()
  fs.rmSync(dir, { recursive: true, force: true })
})

const insertBlob = (id: string) => (trx: Trx) => trx.insertInto('blobs').values({ id, owner: 'o', size: 1, created_at: 0, expires_at: 1 }).execute()

describe('write batcher (group commit)', () => {
  it('commits one turn of jobs together; a refusal fails only its job, a broken job is isolated', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-batcher-'))
    const opened = await openNetworkDatabase(dir)
    db = opened.db
    closeDb = opened.close
    const batcher = new WriteBatcher(db, silent)
    const results = await Promise.allSettled([
      batcher.run(insertBlob('a')),
      batcher.run(async () => {
        throw new WireFailure('blocked', 'refused')
      }),
      batcher.run(async (trx) => {
        await insertBlob('broken')(trx)
        throw new Error('bug')
      }),
      batcher.run(insertBlob('b')),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled'])
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(WireFailure)
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ message: 'bug' })
    const ids = (await db.selectFrom('blobs').select('id').orderBy('id').execute()).map((r) => r.id)
    expect(ids).toEqual(['a', 'b'])
  })

  it('finishes queued work on close and then refuses new work', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-batcher-'))
    const opened = await openNetworkDatabase(dir)
    db = opened.db
    closeDb = opened.close
    const batcher = new WriteBatcher(db, silent)
    const queued = batcher.run(insertBlob('late'))
    await batcher.close()
    await queued
    await expect(batcher.run(insertBlob('after'))).rejects.toBeInstanceOf(ServerClosing)
    expect(await db.selectFrom('blobs').select('id').execute()).toEqual([{ id: 'late' }])
  })
})
