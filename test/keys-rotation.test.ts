import fs from 'node:fs'
import path from 'node:path'
import { expect, it } from 'vitest'
import { MediaVolume } from '../src/media/volume.js'
import { openStoreFromConfig } from '../src/cli/open-store.js'
import { resolveConfig } from '../src/config/config.js'
import { messageId } from '../src/ids.js'
import { countNotCurrent } from '../src/store/key-rotation.js'
import { Sealer } from '../src/store/sealer.js'
import type { Store } from '../src/store/store.js'
import { cliStore } from './helpers/cli-store.js'
import { eventually, runWabox, spawnWabox } from './helpers/wabox-process.js'

const PHONE = 'rot-1'
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(200_000, 7)])

const cli = cliStore(async (store) => {
  await store.numbers.create({ id: PHONE, cc: '1', number: '5554000', displayName: 'Rotation' })
  await store.numbers.saveSettings(PHONE, { webhooks: { url: 'https://hooks.example/wa', headers: { Authorization: 'Bearer s3cret' } } as never })
  await store.callbacks.rotateWebhookSecret(PHONE)
  await store.profiles.saveMediaProviders(PHONE, [{ name: 'cdn', type: 'www', config: { bearer: 'cdn-token' } }])
  for (let i = 0; i < 9; i++) {
    await store.messages.insertOutbound([{
      id: messageId(), phoneNumberId: PHONE, to: '15552000', type: 'text', shard: 0, expiresAt: null,
      content: { to: '15552000', type: 'text', text: { body: `message ${i}` }, biz_opaque_callback_data: `ref-${i}` },
    }])
    await store.callbacks.enqueue(PHONE, { type: 'error', errors: [{ code: 1000 + i, title: `event ${i}` }] } as never)
  }
})

/** Everything sealed that a user would read back, opened. */
async function readAll(store: Store) {
  const db = store.ctx.db
  const messages = await db.selectFrom('messages').selectAll().orderBy('seq').execute()
  const callbacks = await db.selectFrom('callbacks').select('payload').orderBy('seq').execute()
  return {
    settings: store.numbers.settings((await store.numbers.get(PHONE))!).webhooks,
    secret: await store.callbacks.webhookSecret(PHONE),
    providers: await store.profiles.mediaProviders(PHONE),
    messages: messages.map((m) => [store.messages.content<unknown>(m), m.callback_data && store.ctx.sealer.openJson<unknown>(m.callback_data)]),
    callbacks: callbacks.map((c) => store.ctx.sealer.openJson<unknown>(c.payload)),
  }
}

async function opened<T>(dir: string, use: (o: Awaited<ReturnType<typeof openStoreFromConfig>>) => Promise<T>): Promise<T> {
  const o = await openStoreFromConfig(resolveConfig({}, { dataDir: dir }))
  try {
    return await use(o)
  } finally {
    await o.database.close()
  }
}

it('rotate-master killed mid-way with SIGKILL resumes: every sealed value readable afterwards, none under the old key', async () => {
  const dir = cli.dir()
  const keyFile = path.join(dir, 'master.key')
  const oldKey = Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'hex')
  const photo = await opened(dir, async ({ store, mediaKey }) => new MediaVolume({ root: path.join(dir, 'media'), key: mediaKey, store }).put(PNG, { phoneNumberId: PHONE, mimeType: 'image/png' }))
  const before = await cli.inStore(readAll)
  expect(before.settings.url).toBe('https://hooks.example/wa')

  const args = ['keys', 'rotate-master', '--data-dir', dir, '--batch-size', '2']
  const child = spawnWabox(args, { env: { WABOX_KEY_ROTATION_PAUSE_AFTER: '4' } })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  try {
    await eventually(async () => (stderr.includes('paused') ? true : undefined), 30_000)
  } finally {
    child.kill('SIGKILL')
    await exited
  }

  // interrupted: both keys on disk, part of the data under each, all of it readable
  expect(Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'hex')).toEqual(oldKey)
  expect(fs.existsSync(path.join(dir, 'master.key.next'))).toBe(true)
  const midway = await opened(dir, async ({ database, store }) => ({ left: await countNotCurrent(database, store.ctx.sealer), values: await readAll(store) }))
  expect(midway.values).toEqual(before)
  expect(midway.left).toBeGreaterThan(0)

  const resumed = await runWabox(args, { timeoutMs: 60_000 })
  expect(resumed.stderr).toContain('rotating the master key')
  expect(resumed.code).toBe(0)
  expect(resumed.stdout).toMatch(/^master key rotated to [0-9a-f]{8}: \d+ values re-sealed/)

  expect(fs.existsSync(path.join(dir, 'master.key.next'))).toBe(false)
  const newKey = Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'hex')
  expect(newKey.equals(oldKey)).toBe(false)
  await opened(dir, async ({ database, store, mediaKey }) => {
    expect(await readAll(store)).toEqual(before)
    expect(await countNotCurrent(database, store.ctx.sealer)).toBe(0)
    // the old key alone opens nothing any more
    const row = await store.ctx.db.selectFrom('messages').select('content').limit(1).executeTakeFirstOrThrow()
    expect(() => new Sealer(oldKey).open(row.content)).toThrow()
    // media files keep their data key, now sealed under the new master key
    expect(await new MediaVolume({ root: path.join(dir, 'media'), key: mediaKey, store }).read(photo.id)).toEqual(PNG)
  })
}, 120_000)

it('rotate-master waits for every running node to seal with the new key: one that does not is named, nothing is re-sealed', async () => {
  const dir = cli.dir()
  const oldKey = fs.readFileSync(path.join(dir, 'master.key'), 'utf8')
  // a node that beat with the current key and will not beat again within the wait
  const oldId = await cli.inStore(async (store) => {
    await store.nodes.heartbeat({ id: 'coreapp-a', kind: 'coreapp' })
    return store.ctx.sealer.keyId
  })
  const before = await opened(dir, ({ database, store }) => countNotCurrent(database, store.ctx.sealer))
  const run = await runWabox(['keys', 'rotate-master', '--data-dir', dir, '--adopt-timeout', '1'], { timeoutMs: 60_000 })
  expect(run.code).toBe(1)
  expect(run.stderr).toContain(`coreapp coreapp-a (key ${oldId}) did not adopt key`)
  expect(run.stderr).toContain('nothing was re-sealed')
  // the rotation stays staged (run again, it continues); no value was touched
  expect(fs.readFileSync(path.join(dir, 'master.key'), 'utf8')).toBe(oldKey)
  expect(fs.existsSync(path.join(dir, 'master.key.next'))).toBe(true)
  const left = await opened(dir, ({ database, store }) => countNotCurrent(database, store.ctx.sealer))
  expect(before).toBe(0)
  expect(left).toBeGreaterThan(20)
}, 60_000)

it('a sealer opens values of every key in its ring and seals with the first; region keys differ', () => {
  const a = Buffer.alloc(32, 1)
  const b = Buffer.alloc(32, 2)
  const old = new Sealer(a).seal('hello')
  const ring = new Sealer(b, [a])
  expect(ring.open(old).toString()).toBe('hello')
  expect(ring.isCurrent(old)).toBe(false)
  const fresh = ring.seal('hello')
  expect(ring.isCurrent(fresh)).toBe(true)
  expect(() => new Sealer(a).open(fresh)).toThrow(/not in the keyring/)
  // a value from before key ids (version 1) opens with whichever key of the ring sealed it
  const legacy = Buffer.concat([Buffer.of(1), old.subarray(5)])
  expect(ring.open(legacy).toString()).toBe('hello')
  expect(ring.isCurrent(legacy)).toBe(false)
  const eu = ring.forRegion('eu')
  expect(eu.open(eu.seal('x')).toString()).toBe('x')
  expect(() => ring.forRegion('us').open(eu.seal('x'))).toThrow()
  expect(eu.keyId).not.toBe(ring.keyId)
})
