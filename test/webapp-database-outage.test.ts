import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DatabaseUnavailableError, WaboxError } from '../src/errors/index.js'
import { fromRemoteError, remoteError } from '../src/rpc/remote-error.js'
import { openDatabase, type Database } from '../src/store/database.js'
import { Store } from '../src/store/store.js'
import { createCloudTest, graphError, type CloudTest } from './helpers/cloud.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from './helpers/databases.js'
import { startFreezableProxy, type FreezableProxy } from './helpers/freezable-proxy.js'
import { call, firstError } from './helpers/webapp.js'

it('an unavailable database met by the engine thread or another node stays 503 Service not ready once it reaches the API', () => {
  // as the CoreApp's answer to a bridge call crosses a thread or the internal RPC
  const crossed = fromRemoteError(JSON.parse(JSON.stringify(remoteError(new DatabaseUnavailableError('the database did not answer a statement within 30000 ms')))))
  expect(crossed).toBeInstanceOf(WaboxError)
  expect(crossed).toMatchObject({ code: 1011, cloudCode: 133004 })
  expect((crossed as WaboxError).httpStatusFor('onprem')).toBe(503)
  expect((crossed as WaboxError).httpStatusFor('cloud')).toBe(503)
})

/**
 * The API over a database server that freezes (SIGSTOP, a paused VM): requests are answered
 * with a retryable error in each dialect's envelope within the bound, instead of hanging until
 * the client gives up, and the API works again once the server answers.
 */
for (const dialect of DIALECTS.filter((d) => d !== 'sqlite')) {
  describe(`the API while its database is frozen [${dialect}]`, () => {
    let db: TestDatabase
    let proxy: FreezableProxy
    let proxied: Database
    let t: CloudTest
    beforeAll(async () => {
      db = await createTestDatabase(dialect, { label: 'outage' })
      const url = new URL(db.server!.url)
      proxy = await startFreezableProxy(Number(url.port || (dialect === 'mysql' ? 3306 : 5432)))
      url.hostname = '127.0.0.1'
      url.port = String(proxy.port)
      proxied = openDatabase({ ...db.server!, url: url.toString(), statementTimeoutMs: 300, acquireTimeoutMs: 300 })
      t = await createCloudTest({ ...db, store: Store.open(proxied, db.sealer, db.clock) })
    })
    afterAll(async () => {
      proxy?.thaw()
      await t?.close()
      await proxied?.close()
      await proxy?.close()
      await db?.cleanup()
    })

    const onPremSend = (body: string) => call(t.app, { d360: t.keyB }, { method: 'POST', url: '/v1/messages', payload: { to: '16315551234', type: 'text', text: { body } } })
    const cloudSend = (body: string) => t.app.inject({
      method: 'POST', url: `/v23.0/${t.a.id}/messages`, headers: { authorization: `Bearer ${t.token}` },
      payload: { messaging_product: 'whatsapp', to: '16315551234', type: 'text', text: { body } },
    })

    it('answers 503 in the On-Prem and Graph envelopes, then accepts messages again once the server answers', async () => {
      const before = await onPremSend('before the freeze')
      expect(before.statusCode).toBe(201)
      expect((await cloudSend('before the freeze')).statusCode).toBe(200)

      proxy.freeze()
      try {
        const onPrem = await onPremSend('during the freeze')
        expect(onPrem.statusCode).toBe(503)
        expect(firstError(onPrem)).toMatchObject({ code: 1011, title: 'Service not ready', details: expect.stringContaining('database') })

        const cloud = await cloudSend('during the freeze')
        expect(cloud.statusCode).toBe(503)
        expect(graphError(cloud)).toMatchObject({ code: 133004, error_data: { details: expect.stringContaining('database') } })
      } finally {
        proxy.thaw()
      }

      const after = await onPremSend('after the freeze')
      expect(after.statusCode).toBe(201)
      expect((await cloudSend('after the freeze')).statusCode).toBe(200)
      // what was accepted before the freeze is still there
      expect(await db.store.messages.get(before.json().messages[0].id)).toMatchObject({ status: 'queued' })
      expect(await db.store.messages.get(after.json().messages[0].id)).toMatchObject({ status: 'queued' })
    }, 15_000)
  })
}
