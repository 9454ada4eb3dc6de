import { once } from 'node:events'
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { request } from 'undici'
import type { Credentials } from '../../src/cli/credentials.js'

export type { Credentials }

/** `wabox start` from the sources as a child process, with the API and control clients its credentials give. */
export interface WaboxProcess {
  child: ChildProcess
  creds: Credentials
  /** What it wrote to stdout so far (its JSON log lines). */
  stdout(): string
  /** What it wrote to stderr so far (the banner first). */
  stderr(): string
  api(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>
  control(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Record<string, unknown>>
}

export interface SpawnOptions {
  /** Extra environment; any other WABOX_ variable of the test's own environment is left out. */
  env?: Record<string, string>
  /** Runs the CLI under this umask (through /bin/sh), e.g. 0o022. */
  umask?: number
  /** More arguments for `wabox start` (startWabox). */
  args?: string[]
}

/** `wabox <args>` from the sources (tsx), stdout and stderr piped. */
export function spawnWabox(args: string[], opts: SpawnOptions = {}): ChildProcess {
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WABOX_'))), ...opts.env }
  const command = [process.execPath, '--import', 'tsx', 'src/cli/bin.ts', ...args]
  const [file, argv] = opts.umask === undefined
    ? [command[0]!, command.slice(1)]
    : ['/bin/sh', ['-c', `umask ${opts.umask.toString(8).padStart(3, '0')} && exec "$@"`, 'sh', ...command]]
  return spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] })
}

export interface Finished {
  code: number | null
  stdout: string
  stderr: string
  /** From spawn to exit. */
  ms: number
}

/** Runs `wabox <args>` to its end; rejects (after killing it) if it has not exited within `timeoutMs`. */
export async function runWabox(args: string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<Finished> {
  const started = performance.now()
  const child = spawnWabox(args, opts)
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const timeoutMs = opts.timeoutMs ?? 30_000
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`wabox ${args.join(' ')} still running after ${timeoutMs} ms; stderr: ${stderr}`))
    }, timeoutMs)
    // 'close': exited and its output read to the end
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: performance.now() - started })
    })
  })
}

const STARTUP_TIMEOUT_MS = 50_000

/** Starts `wabox start` on `dataDir` (created or reused) and resolves once it says it is running. */
export async function startWabox(dataDir: string, phones = 2, opts: SpawnOptions = {}): Promise<WaboxProcess> {
  const child = spawnWabox(['start', '--data-dir', dataDir, '--port', '0', '--http', '--phones', String(phones), '--log-level', 'warn', ...(opts.args ?? [])], opts)
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
  child.stderr!.setEncoding('utf8')
  // the banner is written to stderr: stdout carries only log lines
  await new Promise<void>((resolve, reject) => {
    // a start that never gets ready must not outlive the test
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`wabox start not running after ${STARTUP_TIMEOUT_MS} ms: ${err}`))
    }, STARTUP_TIMEOUT_MS)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`wabox start exited early with ${code}: ${err}`))
    })
    child.stderr!.on('data', (chunk: string) => {
      err += chunk
      if (!err.includes('wabox is running')) return
      clearTimeout(timer)
      resolve()
    })
  })
  child.stderr!.pipe(process.stderr)
  const creds = JSON.parse(fs.readFileSync(path.join(dataDir, 'credentials.json'), 'utf8')) as Credentials
  return {
    child,
    creds,
    stdout: () => out,
    stderr: () => err,
    async api(method, url, body) {
      const res = await request(creds.api_url + url, {
        method,
        headers: { 'd360-api-key': creds.numbers[0]!.api_key, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> }
    },
    async control(method, url, body) {
      const res = await request(creds.control_url + url, {
        method,
        headers: { authorization: `Bearer ${creds.control_token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      return (await res.body.json()) as Record<string, unknown>
    },
  }
}

/** Retries `probe` until it returns a value; for state that only a poll can observe. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (performance.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Stops a `wabox start` of a test (SIGTERM, then its exit) and removes its data directory. */
export async function stopWabox(wabox: WaboxProcess | undefined, dataDir: string): Promise<void> {
  // a child killed by a signal has no exit code either, but exited already
  if (wabox && wabox.child.exitCode === null && wabox.child.signalCode === null) {
    wabox.child.kill('SIGTERM')
    await once(wabox.child, 'exit')
  }
  fs.rmSync(dataDir, { recursive: true, force: true })
}
