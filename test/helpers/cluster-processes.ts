import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { request } from 'undici'
import { runWabox, spawnWabox } from './wabox-process.js'

const PG_URL = process.env.WABOX_TEST_DATABASE_URL

/** A wabox child process of a multi-process deployment, with what it wrote so far. */
export interface Node {
  name: string
  child: ChildProcess
  stderr(): string
  stdout(): string
}

const READY_TIMEOUT_MS = 120_000

/**
 * The processes of one test deployment on a database of its own, all on loopback; `close`
 * kills every child (stopped ones too) and drops the database, whatever state the test left.
 */
export class ClusterWorld {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-cluster-'))
  readonly nodes: Node[] = []
  readonly env = { WABOX_MASTER_KEY: randomBytes(32).toString('hex') }
  readonly #dbName = `wabox_cluster_${randomBytes(6).toString('hex')}`
  readonly databaseUrl: string

  private constructor() {
    const url = new URL(PG_URL!)
    url.pathname = `/${this.#dbName}`
    this.databaseUrl = url.toString()
  }

  static async create(): Promise<ClusterWorld> {
    const world = new ClusterWorld()
    await world.#admin(`CREATE DATABASE ${world.#dbName}`)
    return world
  }

  /** `wabox <args>` until it prints `ready` on stderr. */
  async start(name: string, args: string[], ready: string): Promise<Node> {
    const child = spawnWabox(args, { env: this.env })
    let out = ''
    let err = ''
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c))
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c))
    const node: Node = { name, child, stderr: () => err, stdout: () => out }
    this.nodes.push(node)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} not ready after ${READY_TIMEOUT_MS} ms: ${err}`)), READY_TIMEOUT_MS)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`${name} exited early with ${code}: ${err}`))
      })
      child.stderr!.on('data', () => {
        if (!err.includes(ready)) return
        clearTimeout(timer)
        resolve()
      })
    })
    return node
  }

  run(args: string[]) {
    return runWabox(args, { env: this.env, timeoutMs: 60_000 })
  }

  /** A query on the deployment's database. */
  async query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.databaseUrl })
    await client.connect()
    try {
      return (await client.query<T>(text, values)).rows
    } finally {
      await client.end()
    }
  }

  async close(): Promise<void> {
    for (const { child } of this.nodes) {
      if (child.exitCode !== null || child.signalCode !== null) continue
      child.kill('SIGCONT')
      child.kill('SIGKILL')
    }
    await Promise.all(this.nodes.map(({ child }) => child.exitCode !== null || child.signalCode !== null
      ? undefined
      : new Promise((resolve) => child.once('exit', resolve))))
    await this.#admin(`DROP DATABASE IF EXISTS ${this.#dbName} WITH (FORCE)`)
    fs.rmSync(this.dir, { recursive: true, force: true })
  }

  async #admin(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: PG_URL })
    await client.connect()
    try {
      await client.query(sql)
    } finally {
      await client.end()
    }
  }
}

/** JSON over HTTP with a header set; the status and the parsed body. */
export async function call(method: 'GET' | 'POST' | 'PATCH', url: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.body.text()
  return { status: res.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
}
