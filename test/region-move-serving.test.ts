import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStoreFromConfig } from '../src/cli/open-store.js'
import { resolveConfig } from '../src/config/config.js'
import { isContentReference, parseContentReference } from '../src/store/regions.js'
import type { Store } from '../src/store/store.js'
import { createServerDatabase, DIALECTS, type ServerDatabase } from './helpers/databases.js'
import { ServingLoad } from './helpers/serving-load.js'
import { eventually, runWabox, spawnWabox, startWabox, stopWabox, type WaboxProcess } from './helpers/wabox-process.js'
import { onPremStatus, onPremText, WebhookReceiver } from './helpers/webhook-receiver.js'

const PIN = '246810'
/**
 * The longest a client may wait between two accepted sends while the region changes. The move
 * itself pauses nothing (a quiet machine measures well under a second); 10 s leaves room for a
 * loaded CI runner with two cores shared by the test, wabox's two threads and the database,
 * and still fails a move that blocks sends until it is done.
 */
const MAX_ACCEPT_GAP_MS = 10_000
/** Earlier inbound messages written straight to the store (sealed at home), so each move has history to copy while live traffic flows. */
const HISTORY = 3_000
/** The move's batch (partner-region.ts): A holding this many rows means the CLI has copied one. */
const MOVE_BATCH = 500

/** How many content values of the numbers' home rows are sealed at home or kept in each region. */
async function contentPlaces(store: Store, numbers: string[]): Promise<Record<string, number>> {
  const db = store.ctx.db
  const messages = await db.selectFrom('messages').select(['content', 'callback_data']).where('phone_number_id', 'in', numbers).execute()
  const callbacks = await db.selectFrom('callbacks').select('payload').where('phone_number_id', 'in', numbers).execute()
  const places: Record<string, number> = {}
  for (const v of [...messages.flatMap((m) => [m.content, m.callback_data]), ...callbacks.map((c) => c.payload)]) {
    if (v === null) continue
    const place = isContentReference(v) ? parseContentReference(v).region : 'home'
    places[place] = (places[place] ?? 0) + 1
  }
  return places
}

interface InboundBody { messages?: { id: string; from: string; type: string; text?: { body: string }; image?: { caption?: string } }[] }

for (const dialect of DIALECTS) describe(`a WABA's region changes while wabox start serves [${dialect}]`, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-region-serving-'))
  const regionDir = (name: string) => path.join(dataDir, `region-${name}`)
  const regions = ['A', 'B'].map((name) => `${name}=${regionDir(name)}`)
  const receiver = new WebhookReceiver()
  let wabox: WaboxProcess | undefined
  let server: ServerDatabase | undefined
  const args = () => [...(server ? ['--database-url', server.url] : []), ...regions.flatMap((r) => ['--region', r])]
  const opened = async <T>(use: (o: Awaited<ReturnType<typeof openStoreFromConfig>>) => Promise<T>): Promise<T> => {
    const o = await openStoreFromConfig(resolveConfig({}, { dataDir, databaseUrl: server?.url }, { regions }))
    try {
      return await use(o)
    } finally {
      await o.database.close()
    }
  }
  /** POST /partner/v1/wabas/{id}/region with the partner key pair `wabox start` wrote. */
  const changeRegion = async (w: WaboxProcess, to: string) => {
    const { partner, cloud } = w.creds
    const res = await request(`${partner.base_url}/wabas/${cloud.waba_id}/region`, {
      method: 'POST',
      headers: { authorization: 'Basic ' + Buffer.from(`${partner.key_id}:${partner.secret}`).toString('base64'), 'content-type': 'application/json' },
      body: JSON.stringify({ data_localization_region: to, pin: PIN }),
    })
    const body = (await res.body.json()) as Record<string, unknown>
    expect(res.statusCode, JSON.stringify(body)).toBe(200)
    return body
  }

  beforeAll(async () => {
    if (dialect !== 'sqlite') server = await createServerDatabase(dialect, 'region-serving')
  })

  afterAll(async () => {
    await stopWabox(wabox, dataDir)
    await receiver.close()
    await server?.drop()
  })

  it('moves home → A (a killed CLI run, run again) and A → B (Partner API) under sends and inbound messages: nothing refused or lost, nothing left behind, everything readable after a restart', async () => {
    const first = (wabox = await startWabox(dataDir, 2, { args: args() }))
    const numbers = first.creds.numbers.map((n) => n.phone_number_id)
    const business = first.creds.numbers[0]!.wa_id
    expect((await first.api('POST', '/v1/configs/webhook', { url: await receiver.start() })).status).toBe(200)
    // the channels' two-step PIN confirms a region change: set on the Cloud-hosted number of the WABA
    const { cloud } = first.creds
    const pinSet = await request(`${cloud.base_url}/${cloud.api_version}/${cloud.phone_number_id}`, {
      method: 'POST', headers: { authorization: `Bearer ${cloud.access_token}`, 'content-type': 'application/json' }, body: JSON.stringify({ pin: PIN }),
    })
    expect(await pinSet.body.json()).toEqual({ success: true })
    const history = await opened(async ({ store }) => {
      const records = Array.from({ length: HISTORY }, (_, i) => ({
        phoneNumberId: numbers[0]!, envelopeId: `history-${i}`, messageId: `wamid.history-${i}`, peer: '15550009999', shard: 0, type: 'text',
        message: { from: '15550009999', id: `wamid.history-${i}`, type: 'text', text: { body: `history #${i}` } }, receivedAt: store.ctx.clock.now(),
      }))
      await store.transaction((tx) => tx.inbound.persist(records))
      return records.map((r) => r.messageId)
    })
    expect((await opened(({ store }) => contentPlaces(store, numbers))).home).toBeGreaterThanOrEqual(HISTORY)

    const load = new ServingLoad(first, receiver, business)
    load.start()
    let stats: ReturnType<ServingLoad['window']>
    let before: ReturnType<ServingLoad['window']>
    let move: Record<string, unknown>
    try {
      await load.acceptedMore(6)
      // home → A from the command line, killed once it copied a batch (live writes alone add far fewer rows to A), then run again
      const partnerId = await opened(async ({ store }) => (await store.partners.list())[0]!.id)
      const cli = ['partner', 'wabas', 'region', '--data-dir', dataDir, ...args(), '--partner-id', partnerId, '--waba-id', first.creds.cloud.waba_id, '--to', 'a']
      const killed = spawnWabox(cli, { env: { WABOX_CHANNEL_PIN: PIN } })
      const exited = once(killed, 'exit')
      try {
        await opened(({ store }) => eventually(async () => ((await store.ctx.regions!.get('A')!.count()) >= MOVE_BATCH || killed.exitCode !== null ? true : undefined), 60_000))
      } finally {
        killed.kill('SIGKILL')
        await exited
      }
      const atKill = await opened(({ store }) => contentPlaces(store, numbers))
      const resumed = await runWabox(cli, { env: { WABOX_CHANNEL_PIN: PIN }, timeoutMs: 120_000 })
      expect(resumed.code, resumed.stderr).toBe(0)
      expect(resumed.stdout).toMatch(/ rows and \d+ media files moved from A to A in \d+ ms \(\d+ passes\)/)
      console.log(`[region move serving ${dialect}] wabox partner wabas region killed with content at ${JSON.stringify(atKill)}; run again: ${resumed.stdout.trim()}`)
      const inA = await opened(({ store }) => contentPlaces(store, numbers))
      expect(Object.keys(inA)).toEqual(['A'])

      // the same gaps with no move running, for comparison (the load's own pacing)
      const calm = performance.now()
      await load.acceptedMore(10)
      const started = performance.now()
      move = await changeRegion(first, 'B')
      const ended = performance.now()
      // a few more sends after the move, written to B from the start
      await load.acceptedMore(6)
      stats = load.window(started, ended)
      before = load.window(calm, started)
    } finally {
      await load.stop()
    }
    console.log(`[region move serving ${dialect}] A → B in ${move.duration_ms} ms (${move.passes} passes, ${move.rows_moved} rows, ${move.media_files_moved} media files) under load: ` +
      `longest gap between accepted sends ${Math.round(stats.maxAcceptGapMs)} ms, slowest accept ${Math.round(stats.slowestAcceptMs)} ms, ` +
      `longest gap between delivered statuses ${Math.round(stats.maxDeliveredGapMs)} ms; ${stats.accepted} sends accepted during the move, ${load.accepted.length} in all, ${load.inbound.length} inbound; ` +
      `before the move: ${Math.round(before.maxAcceptGapMs)} ms, ${Math.round(before.slowestAcceptMs)} ms, ${Math.round(before.maxDeliveredGapMs)} ms`)
    expect(move).toMatchObject({ from: 'A', to: 'B' })
    expect(load.refused).toEqual([])
    expect(stats.accepted).toBeGreaterThan(0)
    expect(stats.maxAcceptGapMs).toBeLessThan(MAX_ACCEPT_GAP_MS)

    // every accepted message delivered exactly once; every inbound one arrived once with its text
    for (const { id } of load.accepted) await receiver.waitFor(onPremStatus(id, 'delivered'), 60_000)
    expect(load.accepted.filter((a) => load.delivered.get(a.id)!.length !== 1)).toEqual([])
    for (const phone of first.creds.phones) {
      const ids = load.accepted.filter((a) => a.to === phone).map((a) => a.id).sort()
      const inbox = (await first.control('GET', `/control/phones/${phone}/inbox`)).messages as { id: string }[]
      expect(inbox.map((m) => m.id).filter((id) => ids.includes(id)).sort()).toEqual(ids)
    }
    const arrivals = (from: string, text: string) => receiver.bodies.flatMap((b) => (b as InboundBody).messages ?? [])
      .filter((m) => m.from === from && (m.text?.body ?? m.image?.caption) === text)
    for (const m of load.inbound) {
      await receiver.waitFor(m.image ? (b) => (b as InboundBody).messages?.find((x) => x.from === m.from && x.image?.caption === m.text) : onPremText(m.from, m.text), 60_000)
    }
    expect(load.inbound.filter((m) => arrivals(m.from, m.text).length !== 1)).toEqual([])
    expect(load.inbound.some((m) => m.image)).toBe(true)

    // A holds nothing; every content column at home references B; media files are under B
    await opened(async ({ store }) => {
      expect(await store.ctx.regions!.get('A')!.count()).toBe(0)
      expect(await store.ctx.regions!.get('B')!.count()).toBeGreaterThan(HISTORY + load.accepted.length + load.inbound.length)
      const places = await contentPlaces(store, numbers)
      expect(Object.keys(places)).toEqual(['B'])
      const db = store.ctx.db
      const media = await db.selectFrom('media').select('file').where('phone_number_id', 'in', numbers).execute()
      expect(media.length).toBeGreaterThan(0)
      expect(media.filter((m) => !m.file.startsWith('@B/'))).toEqual([])
      // the images that came before the WABA had a region left the main volume too
      expect(media.filter((m) => fs.existsSync(path.join(dataDir, 'media', m.file.slice('@B/'.length))))).toEqual([])
    })
    const filesIn = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()) : [])
    expect(filesIn(path.join(regionDir('A'), 'media'))).toEqual([])

    // a restart serves from B: the content of every message reads back, and sends go on
    first.child.kill('SIGTERM')
    await once(first.child, 'exit')
    const second = (wabox = await startWabox(dataDir, 2, { args: args() }))
    await opened(async ({ store }) => {
      for (const a of load.accepted) expect(store.outbox.openContent((await store.messages.get(a.id))!.content)).toMatchObject({ text: { body: a.text } })
      const inbound = await store.ctx.db.selectFrom('messages').select('id').where('direction', '=', 'in').where('phone_number_id', '=', numbers[0]!).execute()
      const texts = await Promise.all(inbound.map(async (m) => JSON.stringify(store.outbox.openContent((await store.messages.get(m.id))!.content))))
      for (const m of load.inbound) expect(texts.filter((t) => t.includes(JSON.stringify(m.text))).length, m.text).toBe(1)
      expect(inbound.filter((m) => history.includes(m.id))).toHaveLength(HISTORY)
      expect(texts.filter((t) => t.includes('history #'))).toHaveLength(HISTORY)
    })
    const phone = second.creds.phones[0]!
    const res = await second.api('POST', '/v1/messages', { to: phone, type: 'text', text: { body: 'after the move' } })
    expect(res.status).toBe(201)
    await receiver.waitFor(onPremStatus((res.body.messages as { id: string }[])[0]!.id, 'delivered'), 60_000)
  }, 300_000)
})
