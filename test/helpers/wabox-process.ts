import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { request } from 'undici'

export interface Credentials {
  api_url: string
  numbers: { wa_id: string; phone_number_id: string; api_key: string }[]
  phones: string[]
  control_url: string
  control_token: string
}

/** `wabox start` from the sources as a child process, with the API and control clients its credentials give. */
export interface WaboxProcess {
  child: ChildProcess
  creds: Credentials
  api(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>
  control(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Record<string, unknown>>
}

/** Starts `wabox start` on `dataDir` (created or reused) and resolves once it says it is running. */
export async function startWabox(dataDir: string, phones = 2): Promise<WaboxProcess> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WABOX_')))
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'start', '--data-dir', dataDir, '--port', '0', '--http', '--phones', String(phones), '--log-level', 'warn'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout!.setEncoding('utf8')
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`wabox start exited early with ${code}: ${out}`)))
    child.stdout!.on('data', (chunk: string) => {
      out += chunk
      if (out.includes('wabox is running')) resolve()
    })
  })
  const creds = JSON.parse(fs.readFileSync(path.join(dataDir, 'credentials.json'), 'utf8')) as Credentials
  return {
    child,
    creds,
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
