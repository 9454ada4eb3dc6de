import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ClusterWorld } from './helpers/cluster-processes.js'
import { runWabox, spawnWabox } from './helpers/wabox-process.js'

const PG_URL = process.env.WABOX_TEST_DATABASE_URL

describe('the commands of the production shape', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-cli-cluster-'))
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('refuse to run a node without the deployment\'s database, with exit 2 and the flag to give', async () => {
    for (const command of [['coreapp', '--network-url', 'ws://127.0.0.1:1/ws'], ['webapp'], ['webhooks']]) {
      const { code, stderr } = await runWabox([...command, '--data-dir', dir])
      expect(code).toBe(2)
      expect(stderr).toContain(`wabox ${command[0]} needs the deployment's database: --database-url (WABOX_DATABASE_URL)`)
    }
    const bad = await runWabox(['coreapp', '--data-dir', dir, '--database-url', 'postgres://127.0.0.1:1/x', '--network-url', 'http://x'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--network-url must be a ws:// or wss:// URL')
    const timing = await runWabox(['coreapp', '--data-dir', dir, '--database-url', 'postgres://127.0.0.1:1/x', '--network-url', 'ws://x/ws', '--heartbeat-interval', '5', '--unhealthy-interval', '6'])
    expect(timing.code).toBe(2)
    expect(timing.stderr).toContain('--unhealthy-interval must be at least twice --heartbeat-interval')
  }, 60_000)

  it('wabox network --phones writes where the network and its phones are, and wabox phone drives them', async () => {
    const netDir = path.join(dir, 'net')
    const child = spawnWabox(['network', '--data-dir', netDir, '--port', '0', '--phones', '2'])
    let err = ''
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c))
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`wabox network exited with ${code}: ${err}`)))
        child.stderr!.on('data', () => err.includes('wabox network is running') && resolve())
      })
      const creds = JSON.parse(fs.readFileSync(path.join(netDir, 'credentials.json'), 'utf8')) as Record<string, unknown>
      expect(creds).toMatchObject({ network_url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/), control_url: expect.stringMatching(/^http:\/\//), control_token: expect.any(String) })
      expect(creds.phones).toHaveLength(2)
      expect(fs.statSync(path.join(netDir, 'credentials.json')).mode & 0o777).toBe(0o600)
      const listed = await runWabox(['phone', 'list', '--data-dir', netDir])
      expect(listed.code, listed.stderr).toBe(0)
      for (const waId of creds.phones as string[]) expect(listed.stdout).toContain(waId)
    } finally {
      child.kill('SIGTERM')
    }
  }, 90_000)

  describe.skipIf(!PG_URL)('on PostgreSQL', () => {
    let world: ClusterWorld | undefined
    afterAll(async () => {
      await world?.close()
    })

    it('wabox provision says to start a CoreApp first when none runs', async () => {
      world = await ClusterWorld.create()
      const { code, stderr } = await world.run(['provision', '--database-url', world.databaseUrl, '--data-dir', world.dir, '--network-control-url', 'http://127.0.0.1:1'])
      expect(code).toBe(2)
      expect(stderr).toContain('no CoreApp is running on this database: start `wabox coreapp` first')
    }, 60_000)
  })
})
