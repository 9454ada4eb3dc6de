import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStoreFromConfig } from '../src/cli/open-store.js'
import { resolveConfig } from '../src/config/config.js'
import { countNotCurrent } from '../src/store/key-rotation.js'
import { keyIdOf, Sealer } from '../src/store/sealer.js'
import { createServerDatabase, DIALECTS, type ServerDatabase } from './helpers/databases.js'
import { eventually, runWabox, spawnWabox, startWabox, stopWabox, type WaboxProcess } from './helpers/wabox-process.js'
import { onPremStatus, onPremText, WebhookReceiver } from './helpers/webhook-receiver.js'

/** Rounds of one send per phone: a round starts once the last round's messages were delivered, then this pause keeps each pair under the network's 45 envelopes per 6 s. */
const ROUND_PAUSE_MS = 200

const keyIn = (file: string) => Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex')

for (const dialect of DIALECTS) describe(`master-key rotation while wabox start serves [${dialect}]`, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-rotate-serving-'))
  const receiver = new WebhookReceiver()
  let wabox: WaboxProcess | undefined
  let server: ServerDatabase | undefined
  const dbArgs = () => (server ? ['--database-url', server.url] : [])
  const start = () => startWabox(dataDir, 2, { args: dbArgs() })
  const opened = async <T>(use: (o: Awaited<ReturnType<typeof openStoreFromConfig>>) => Promise<T>): Promise<T> => {
    const o = await openStoreFromConfig(resolveConfig({}, { dataDir, databaseUrl: server?.url }))
    try {
      return await use(o)
    } finally {
      await o.database.close()
    }
  }

  beforeAll(async () => {
    if (dialect !== 'sqlite') server = await createServerDatabase(dialect, 'rotate-serving')
  })

  afterAll(async () => {
    await stopWabox(wabox, dataDir)
    await receiver.close()
    await server?.drop()
  })

  it('rotates while sends flow, survives a SIGKILL of the rotation, delivers every accepted message once, and a restart with the new key alone reads everything', async () => {
    const first = (wabox = await start())
    expect((await first.api('POST', '/v1/configs/webhook', { url: await receiver.start() })).status).toBe(200)
    const phones = first.creds.phones
    const keyFile = path.join(dataDir, 'master.key')
    const oldKey = keyIn(keyFile)

    const accepted: { to: string; id: string }[] = []
    let sending = true
    const sender = (async () => {
      for (let i = 0; sending; i++) {
        const round = await Promise.all(phones.map(async (to) => {
          const res = await first.api('POST', '/v1/messages', { to, type: 'text', text: { body: `rotation ${i}` } })
          expect(res.status, JSON.stringify(res.body)).toBe(201)
          const id = (res.body.messages as { id: string }[])[0]!.id
          accepted.push({ to, id })
          return id
        }))
        for (const id of round) await receiver.waitFor(onPremStatus(id, 'delivered'), 30_000)
        await new Promise((resolve) => setTimeout(resolve, ROUND_PAUSE_MS))
      }
    })()
    // awaited below; a test that fails first leaves it to fail on its own
    sender.catch(() => undefined)
    const sentSoFar = (n: number) => eventually(async () => (accepted.length >= n ? true : undefined), 60_000)
    try {
      await sentSoFar(8)

      // the first run is killed once it has re-sealed a few batches, the deployment serving all along
      const args = ['keys', 'rotate-master', '--data-dir', dataDir, ...dbArgs(), '--batch-size', '10']
      const rotation = spawnWabox(args, { env: { WABOX_KEY_ROTATION_PAUSE_AFTER: '3' } })
      let stderr = ''
      rotation.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
      const exited = new Promise((resolve) => rotation.once('exit', resolve))
      try {
        await eventually(async () => (stderr.includes('paused') || rotation.exitCode !== null ? true : undefined), 60_000)
      } finally {
        rotation.kill('SIGKILL')
        await exited
      }
      expect(stderr).toContain('every running node seals with key')
      expect(stderr).toMatch(/re-sealed \d+ values in 3 batches/)
      const nextKey = keyIn(path.join(dataDir, 'master.key.next'))
      expect(keyIn(keyFile)).toEqual(oldKey)
      // both threads of the running wabox seal with the next key already
      const sealing = await opened(async ({ store }) => (await store.nodes.live('all-in-one', 30_000)).map((n) => n.sealingKeyId))
      expect(sealing).toEqual([keyIdOf(nextKey), keyIdOf(nextKey)])

      const atResume = accepted.length
      const resumed = await runWabox(args, { timeoutMs: 120_000 })
      expect(resumed.code, resumed.stderr).toBe(0)
      expect(resumed.stdout).toMatch(new RegExp(`^master key rotated to ${keyIdOf(nextKey)}: \\d+ values re-sealed`))
      expect(accepted.length).toBeGreaterThan(atResume)
      expect(fs.existsSync(path.join(dataDir, 'master.key.next'))).toBe(false)
      expect(keyIn(keyFile)).toEqual(nextKey)

      // sends go on after the old key is dropped; then every accepted message reaches its phone once
      await sentSoFar(accepted.length + 2 * phones.length)
    } finally {
      sending = false
    }
    await sender
    for (const phone of phones) {
      const ids = accepted.filter((m) => m.to === phone).map((m) => m.id).sort()
      let got: string[] = []
      await eventually(async () => {
        const messages = (await first.control('GET', `/control/phones/${phone}/inbox`)).messages as { id: string }[]
        got = messages.map((m) => m.id).filter((id) => ids.includes(id))
        return new Set(got).size === ids.length ? true : undefined
      }, 60_000)
      expect(got.sort()).toEqual(ids)
    }
    for (const { id } of accepted) await receiver.waitFor(onPremStatus(id, 'delivered'), 30_000)

    // the running process dropped the old key: nothing in the store is sealed with it
    await opened(async ({ database, store }) => {
      expect(await countNotCurrent(database, store.ctx.sealer)).toBe(0)
      const row = await store.ctx.db.selectFrom('messages').select('content').limit(1).executeTakeFirstOrThrow()
      expect(() => new Sealer(oldKey).open(row.content)).toThrow()
    })

    // a restart with master.key alone: webhook settings, Signal sessions and queued callbacks all open
    first.child.kill('SIGTERM')
    await once(first.child, 'exit')
    const second = (wabox = await start())
    const business = second.creds.numbers[0]!.wa_id
    const phone = phones[0]!
    const res = await second.api('POST', '/v1/messages', { to: phone, type: 'text', text: { body: 'after the rotation' } })
    expect(res.status).toBe(201)
    await receiver.waitFor(onPremStatus((res.body.messages as { id: string }[])[0]!.id, 'delivered'), 60_000)
    await second.control('POST', `/control/phones/${phone}/send`, { type: 'text', to: business, text: 'reply after the rotation' })
    await receiver.waitFor(onPremText(phone, 'reply after the rotation'), 60_000)
  }, 400_000)
})
