import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { request } from 'undici'
import { afterAll, describe, expect, it } from 'vitest'
import { runWabox, startWabox, type WaboxProcess } from './helpers/wabox-process.js'

const UMASK = 0o022

function mode(file: string): string {
  return (fs.statSync(file).mode & 0o777).toString(8)
}

/** Every file (or folder) under `dir` (recursively) with its mode, as `relative path → mode`. */
function modes(dir: string, kind: 'file' | 'dir' = 'file'): Record<string, string> {
  const out: Record<string, string> = {}
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (kind === 'file' ? entry.isFile() : entry.isDirectory()) out[path.relative(dir, path.join(entry.parentPath, entry.name))] = mode(path.join(entry.parentPath, entry.name))
  }
  return out
}

async function stop(wabox: WaboxProcess): Promise<void> {
  if (wabox.child.exitCode !== null) return
  wabox.child.kill('SIGTERM')
  await once(wabox.child, 'exit')
}

describe(`wabox start and its data directory (umask ${UMASK.toString(8)})`, () => {
  // made by the user beforehand, readable by everyone
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-dir-'))
  fs.chmodSync(dataDir, 0o755)
  let wabox: WaboxProcess | undefined

  afterAll(async () => {
    if (wabox) await stop(wabox)
    fs.rmSync(dataDir, { recursive: true, force: true })
  })

  it('keeps the data directory, the databases and the phones\' state owner-only', async () => {
    wabox = await startWabox(dataDir, 1, { umask: UMASK })
    const phone = wabox.creds.phones[0]!
    expect({
      dataDir: mode(dataDir),
      network: mode(path.join(dataDir, 'network')),
      phone: mode(path.join(dataDir, 'phones', phone)),
    }).toEqual({ dataDir: '700', network: '700', phone: '700' })
    const files = modes(dataDir)
    // the running databases have their WAL files open
    for (const db of ['wabox.db', 'network/network.sqlite']) {
      expect([db, `${db}-wal`, `${db}-shm`].map((f) => [f, files[f]])).toEqual([[db, '600'], [`${db}-wal`, '600'], [`${db}-shm`, '600']])
    }
    expect(Object.entries(files).filter(([f]) => f.startsWith('phones/')).length).toBeGreaterThan(3)
    expect(Object.entries(files).filter(([, m]) => m !== '600')).toEqual([])
    const dirs = modes(dataDir, 'dir')
    expect(Object.keys(dirs)).toEqual(expect.arrayContaining(['phones', 'network/blobs']))
    expect(Object.entries(dirs).filter(([, m]) => m !== '700')).toEqual([])
  }, 60_000)

  it('writes the banner to stderr: stdout is JSON log lines only', async () => {
    const lines = wabox!.stdout().split('\n').filter(Boolean)
    expect(lines.filter((line) => !line.startsWith('{'))).toEqual([])
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('level')
  })

  it('after the admin password was changed, credentials.json says so and never shows a password', async () => {
    const creds = wabox!.creds
    expect(creds.admin).toEqual({ username: 'admin', password: 'secret', password_changed: false })
    const changed = await request(`${creds.api_url}/v1/users/login`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('admin:secret').toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ new_password: 'N3w-Passw0rd!' }),
    })
    expect(changed.statusCode).toBe(200)
    await changed.body.dump()
    await stop(wabox!)

    // a database left owner-readable by an earlier version is narrowed on the next start too
    fs.chmodSync(path.join(dataDir, 'wabox.db'), 0o644)
    wabox = await startWabox(dataDir, 1, { umask: UMASK })
    expect(wabox.creds.admin).toEqual({ username: 'admin', password: null, password_changed: true })
    expect(fs.readFileSync(path.join(dataDir, 'credentials.json'), 'utf8')).not.toContain('N3w-Passw0rd!')
    expect(mode(path.join(dataDir, 'wabox.db'))).toBe('600')
  }, 90_000)

  it('keeps a database created by `wabox migrate` owner-only too', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-dir-'))
    try {
      const migrated = await runWabox(['migrate', '--data-dir', path.join(dir, 'new')], { umask: UMASK })
      expect(migrated.code).toBe(0)
      expect({ dir: mode(path.join(dir, 'new')), db: mode(path.join(dir, 'new', 'wabox.db')) }).toEqual({ dir: '700', db: '600' })
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
