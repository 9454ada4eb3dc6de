import { once } from 'node:events'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startNetworkServer } from '../src/network/server.js'
import { MIGRATION_NAMES } from '../src/store/migrate.js'
import { runWabox, startWabox, type Finished } from './helpers/wabox-process.js'

// Every run is a real `wabox` process: each must end on its own, well within this bound
// (several seconds on a loaded machine; a hang is what is being caught).
const EXIT_WITHIN_MS = 45_000
const KEY_A = 'aa'.repeat(32)
const KEY_B = 'bb'.repeat(32)

const dirs: string[] = []
function dataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-cli-'))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

async function listenOn(port: number): Promise<net.Server> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  return server
}

async function close(server: net.Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

async function freePort(): Promise<number> {
  const server = await listenOn(0)
  const { port } = server.address() as net.AddressInfo
  await close(server)
  return port
}

/** Nothing listens on `port` any more: it can be taken. */
async function expectFree(port: number): Promise<void> {
  await close(await listenOn(port))
}

/** Failed with `code`, saying why on exactly one stderr line. */
function expectFailure(run: Finished, code: 1 | 2, says: RegExp): void {
  const lines = run.stderr.trim().split('\n')
  expect({ code: run.code, lines }).toMatchObject({ code, lines: [expect.stringMatching(says)] })
}

function start(dir: string, ports: { api: number; network: number }, extra: string[] = [], env: Record<string, string> = {}): Promise<Finished> {
  const args = ['start', '--data-dir', dir, '--port', String(ports.api), '--network-port', String(ports.network), '--http', '--phones', '0', '--log-level', 'warn', ...extra]
  return runWabox(args, { env, timeoutMs: EXIT_WITHIN_MS })
}

describe('wabox start refuses to run, exits non-zero and leaves nothing listening', () => {
  const ports = { api: 0, network: 0 }
  afterEach(async () => {
    await expectFree(ports.api)
    await expectFree(ports.network)
  })
  const pickPorts = async () => {
    ports.api = await freePort()
    ports.network = await freePort()
    return ports
  }

  it('when the API port is in use', async () => {
    await pickPorts()
    const taken = await listenOn(ports.api)
    try {
      expectFailure(await start(dataDir(), ports), 1, new RegExp(`^wabox: the API cannot listen on 127\\.0\\.0\\.1:${ports.api}: the port is in use.*--port`))
    } finally {
      await close(taken)
    }
  }, EXIT_WITHIN_MS)

  it('when PostgreSQL cannot be reached', async () => {
    const run = await start(dataDir(), await pickPorts(), ['--database-url', 'postgres://postgres@127.0.0.1:1/x'])
    expectFailure(run, 1, /^wabox: PostgreSQL at 127\.0\.0\.1:1 refused the connection: .*WABOX_DATABASE_URL/)
  }, EXIT_WITHIN_MS)

  it('when MySQL cannot be reached', async () => {
    const run = await start(dataDir(), await pickPorts(), ['--database-url', 'mysql://root@127.0.0.1:1/x'])
    expectFailure(run, 1, /^wabox: MySQL\/MariaDB at 127\.0\.0\.1:1 refused the connection: .*WABOX_DATABASE_URL/)
  }, EXIT_WITHIN_MS)

  it('when wabox.db is not a database', async () => {
    const dir = dataDir()
    fs.writeFileSync(path.join(dir, 'wabox.db'), Buffer.alloc(8192, 0x5a))
    expectFailure(await start(dir, await pickPorts()), 1, /^wabox: .*wabox\.db is not a readable SQLite database .*restore it from a backup/)
  }, EXIT_WITHIN_MS)

  it('when master.key is not a key', async () => {
    const dir = dataDir()
    fs.writeFileSync(path.join(dir, 'master.key'), 'not a key\n', { mode: 0o600 })
    expectFailure(await start(dir, await pickPorts()), 1, /^wabox: .*master\.key is not a master key .*restore the original/)
  }, EXIT_WITHIN_MS)

  it('when WABOX_MASTER_KEY is not the key the database was created with', async () => {
    const dir = dataDir()
    expect((await runWabox(['migrate', '--data-dir', dir], { env: { WABOX_MASTER_KEY: KEY_A } })).code).toBe(0)
    const run = await start(dir, await pickPorts(), [], { WABOX_MASTER_KEY: KEY_B })
    expectFailure(run, 1, /^wabox: WABOX_MASTER_KEY is not the key this database was encrypted with/)
  }, EXIT_WITHIN_MS)

  it('when --host does not resolve', async () => {
    const run = await start(dataDir(), await pickPorts(), ['--host', 'nosuch.invalid'])
    expectFailure(run, 1, /^wabox: the API cannot listen on nosuch\.invalid: the host name does not resolve.*--host/)
  }, EXIT_WITHIN_MS)

  it.runIf(process.platform === 'linux')('when the data directory cannot be created (under /proc)', async () => {
    const run = await start('/proc/wabox-data', await pickPorts())
    expectFailure(run, 1, /^wabox: cannot use the data directory \/proc\/wabox-data .*--data-dir/)
  }, EXIT_WITHIN_MS)

  it('when first-start provisioning fails, and provisions on the next start', async () => {
    let refuse = true
    const network = await startNetworkServer({
      dataDir: dataDir(), port: 0, controlToken: 'network-token', logger: pino({ level: 'silent' }),
      register: (app) => {
        app.addHook('onRequest', async (req, reply) => {
          if (refuse && req.method === 'POST' && req.url.endsWith('/templates')) await reply.code(503).send({ error: { code: 'unavailable', message: 'templates are down' } })
        })
      },
    })
    try {
      const dir = dataDir()
      const external = ['--network-url', network.wsUrl, '--network-control-token', 'network-token']
      expectFailure(await start(dir, await pickPorts(), external), 1, /^wabox: first-start provisioning failed: creating the welcome template failed: 503 .*templates are down.*start again/)
      await expectFree(ports.api)

      refuse = false
      const again = await startWabox(dir, 0, { args: external })
      expect(again.creds.numbers).toHaveLength(2)
      again.child.kill('SIGTERM')
      await once(again.child, 'exit')
    } finally {
      await network.close()
    }
  }, 2 * EXIT_WITHIN_MS)
})

describe('one-shot commands say what they did, or why not', () => {
  // a data directory with a database and no numbers
  const migrated = dataDir()
  beforeAll(async () => {
    expect((await runWabox(['migrate', '--data-dir', migrated])).code).toBe(0)
  }, EXIT_WITHIN_MS)

  it('keys create on an unknown number fails with exit 1', async () => {
    const run = await runWabox(['keys', 'create', '--data-dir', migrated, '--phone-number-id', 'nosuch'])
    expectFailure(run, 1, /^wabox: unknown phone number id 'nosuch'$/)
  }, EXIT_WITHIN_MS)

  it('keys revoke of an unknown key fails with exit 1', async () => {
    const run = await runWabox(['keys', 'revoke', '--data-dir', migrated, '--key', 'nosuch'])
    expectFailure(run, 1, /^wabox: no active API key matches --key/)
  }, EXIT_WITHIN_MS)

  it('keys on a data directory without a database fail instead of creating one', async () => {
    const empty = path.join(dataDir(), 'typo')
    expectFailure(await runWabox(['keys', 'list', '--data-dir', empty, '--phone-number-id', 'x']), 1, /^wabox: no wabox database in .*typo: pass the --data-dir/)
    expect(fs.existsSync(empty)).toBe(false)
  }, EXIT_WITHIN_MS)

  it('phone commands say when the instance cannot be reached', async () => {
    const port = await freePort()
    const run = await runWabox(['phone', 'inbox', '--control', `http://127.0.0.1:${port}`, '--wa-id', '15550000001'])
    expectFailure(run, 1, new RegExp(`^wabox: cannot reach the control API at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): is wabox running\\?`))
  }, EXIT_WITHIN_MS)

  it('a command line that cannot work exits 2', async () => {
    expectFailure(await runWabox(['keys', 'create', '--data-dir', migrated]), 2, /required option '--phone-number-id <id>'/)
    expectFailure(await runWabox(['migrate', '--data-dir', migrated, '--log-format', 'xml']), 2, /^wabox: Invalid --log-format="xml": must be json or pretty$/)
    expectFailure(await runWabox(['phone', 'send', '--control', 'http://127.0.0.1:1', '--from', '1', '--to', '2']), 2, /^wabox: give exactly one of --text/)
  }, 3 * EXIT_WITHIN_MS)

  it('migrate prints what it applied, then that nothing is pending', async () => {
    const dir = dataDir()
    const first = await runWabox(['migrate', '--data-dir', dir])
    expect({ code: first.code, stdout: first.stdout }).toEqual({ code: 0, stdout: `applied: ${MIGRATION_NAMES.join(', ')}\n` })
    const second = await runWabox(['migrate', '--data-dir', dir])
    expect({ code: second.code, stdout: second.stdout }).toEqual({ code: 0, stdout: 'database is up to date\n' })
  }, 2 * EXIT_WITHIN_MS)
})
