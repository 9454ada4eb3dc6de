/**
 * wabox under test in the production shape (`--coreapps N`, PostgreSQL only): N `wabox coreapp`
 * processes, one `wabox webapp` and one `wabox webhooks`, as docs/deploy.md runs them, against
 * the world's external network, from dist/ like bench/wabox.mjs. Answers the bench like it; its usage is the sum of
 * its processes, with each one's share in `parts`.
 *
 * argv: <dataDir> <wsUrl> <controlUrl> <controlToken>; WABOX_DATABASE_URL, WABOX_BENCH_COREAPPS.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { Usage } from './ipc.js'

const [dataDir, wsUrl, controlUrl, controlToken] = process.argv.slice(2) as [string, string, string, string]
const coreapps = Number(process.env.WABOX_BENCH_COREAPPS ?? 1)
const root = path.join(import.meta.dirname, '..')
const env = { ...process.env, WABOX_MASTER_KEY: randomBytes(32).toString('hex'), WABOX_LOG_LEVEL: process.env.WABOX_BENCH_LOG ?? 'warn' }
const common = ['--data-dir', dataDir]
const procs = new Map<string, ChildProcess>()
const TICK_US = 1e6 / 100 // USER_HZ on Linux

/** `wabox <args>`; resolves with its stderr once it contains `ready` (or, without `ready`, at its exit). */
function wabox(name: string, args: string[], ready?: string): Promise<string> {
  const child = spawn(process.execPath, ['dist/cli/bin.js', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  procs.set(name, child)
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c))
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c))
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      procs.delete(name)
      if (!ready && code === 0) resolve(out)
      else reject(new Error(`${name} exited with ${code}: ${err}`))
    })
    if (ready) child.stderr!.on('data', () => err.includes(ready) && resolve(err))
  })
}

/** CPU time of a process so far, from /proc (the children are not ours to ask over IPC). */
function cpuOf(child: ChildProcess): Usage {
  const stat = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return { cpuUs: (Number(stat[11]) + Number(stat[12])) * TICK_US, rssMb: Math.round(kb('VmRSS') / 1024), maxRssMb: Math.round(kb('VmHWM') / 1024) }
}

await wabox('migrate', ['migrate', ...common])
const nodes = Array.from({ length: coreapps }, (_, i) => `coreapp-${i + 1}`)
const [web] = await Promise.all([
  wabox('webapp', ['webapp', ...common, '--http', '--port', '0', '--node-id', 'webapp-1', '--messages-per-second', '1000000000'], 'is running: API '),
  wabox('webhooks', ['webhooks', ...common], 'is running'),
  ...nodes.map((id) => wabox(id, ['coreapp', ...common, '--node-id', id, '--network-url', wsUrl], 'is running')),
])
const apiUrl = /API (\S+)/.exec(web)![1]!
const number = JSON.parse(await wabox('provision', ['provision', ...common, '--network-control-url', controlUrl, '--network-control-token', controlToken, '--json'])) as { wa_id: string; api_key: string }

process.on('message', (raw) => {
  const msg = raw as { t: string }
  if (msg.t === 'usage') {
    const parts = Object.fromEntries([...procs].map(([name, child]) => [name, cpuOf(child)]))
    const all = Object.values(parts)
    process.send!({ t: 'usage', usage: { cpuUs: all.reduce((s, u) => s + u.cpuUs, 0), rssMb: all.reduce((s, u) => s + u.rssMb, 0), maxRssMb: all.reduce((s, u) => s + u.maxRssMb, 0), parts } })
  }
  if (msg.t === 'close') {
    const exits = [...procs.values()].map((child) => new Promise((resolve) => child.once('exit', resolve)))
    for (const child of procs.values()) child.kill('SIGTERM')
    void Promise.all(exits).then(() => {
      process.send!({ t: 'closed' })
      process.exit(0)
    })
  }
})
process.send!({ t: 'ready', credentials: { api_url: apiUrl, numbers: [number] }, coreapps })
