import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServerDatabase, DIALECTS, type ServerDatabase } from './helpers/databases.js'
import { eventually, startWabox, stopWabox, type WaboxProcess } from './helpers/wabox-process.js'
import { onPremStatus, WebhookReceiver } from './helpers/webhook-receiver.js'

// SQLite in the data directory, PostgreSQL and MySQL/MariaDB through --database-url when configured
for (const dialect of DIALECTS) describe(`wabox start killed with SIGKILL while messages are in flight [${dialect}]`, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-kill-'))
  const receiver = new WebhookReceiver()
  let wabox: WaboxProcess | undefined
  let server: ServerDatabase | undefined
  const start = () => startWabox(dataDir, 2, { args: server ? ['--database-url', server.url] : [] })

  beforeAll(async () => {
    if (dialect !== 'sqlite') server = await createServerDatabase(dialect, 'start-crash')
  })

  afterAll(async () => {
    await stopWabox(wabox, dataDir)
    await receiver.close()
    await server?.drop()
  })

  it('delivers every accepted message exactly once after the restart, and reports it delivered', async () => {
    const first = (wabox = await start())
    expect((await first.api('POST', '/v1/configs/webhook', { url: await receiver.start() })).status).toBe(200)
    const phones = first.creds.phones
    // 40 per phone stays under the network's 45 envelopes per pair in 6 s; the API thread
    // accepts them all, then the whole process dies with the engine thread mid-send
    const accepted = await Promise.all(Array.from({ length: 40 * phones.length }, async (_, i) => {
      const to = phones[i % phones.length]!
      const res = await first.api('POST', '/v1/messages', { to, type: 'text', text: { body: `crash test ${i}` } })
      expect(res.status).toBe(201)
      return { to, id: (res.body.messages as { id: string }[])[0]!.id }
    }))
    first.child.kill('SIGKILL')
    await once(first.child, 'exit')

    const restarted = (wabox = await start())
    for (const phone of phones) {
      const ids = accepted.filter((m) => m.to === phone).map((m) => m.id).sort()
      let got: string[] = []
      let held: { id: string; error?: string }[] = []
      // the new process takes the shard once the killed one's lease has run out (15 s)
      await eventually(async () => {
        // the phones' greetings are stored before the start accepts messages: none fails with 470
        // because the restart sent the queue before the network redelivered a greeting
        expect(failedCallbacks(receiver, ids)).toEqual([])
        held = (await restarted.control('GET', `/control/phones/${phone}/inbox`)).messages as { id: string; error?: string }[]
        got = held.map((m) => m.id).filter((id) => ids.includes(id))
        return new Set(got).size === ids.length ? true : undefined
      }, 60_000).catch((err: unknown) => {
        if (failedCallbacks(receiver, ids).length > 0) throw err
        throw new Error(`${phone} holds ${new Set(got).size} of its ${ids.length} accepted messages`)
      })
      // each id once: a message sent before the kill is not sent again as a new one
      expect(got.sort()).toEqual(ids)
      // and readable: a phone killed mid-decryption reads the redelivery (no receipt otherwise)
      expect(held.filter((m) => ids.includes(m.id) && m.error !== undefined)).toEqual([])
    }
    // a phone killed between storing a message and sending its receipt sends it on redelivery;
    // a callback the killed process had claimed is due again when its lease ends (60 s)
    const deadline = performance.now() + 90_000
    for (const { id } of accepted) {
      await receiver.waitFor(onPremStatus(id, 'delivered'), Math.max(1, deadline - performance.now())).catch(() => {
        // name what is missing, and what each of those messages did get
        const missing = accepted.filter((m) => !statusesOf(receiver, m.id).includes('delivered'))
        throw new Error(`no delivered callback within 90 s for ${missing.length} of ${accepted.length}: ${JSON.stringify(missing.map((m) => ({ ...m, got: statusesOf(receiver, m.id) })))}`)
      })
    }
  }, 200_000)
})

/** Every status callback `id` got, in order. */
function statusesOf(receiver: WebhookReceiver, id: string): string[] {
  return receiver.bodies.flatMap((body) => ((body as { statuses?: { id: string; status: string }[] }).statuses ?? []).filter((s) => s.id === id).map((s) => s.status))
}

/** `failed` status callbacks of the given messages, with their error codes. */
function failedCallbacks(receiver: WebhookReceiver, ids: string[]): { id: string; codes: number[] }[] {
  type Status = { id: string; status: string; errors?: { code: number }[] }
  return receiver.bodies.flatMap((body) => ((body as { statuses?: Status[] }).statuses ?? [])
    .filter((s) => s.status === 'failed' && ids.includes(s.id))
    .map((s) => ({ id: s.id, codes: (s.errors ?? []).map((e) => e.code) })))
}
