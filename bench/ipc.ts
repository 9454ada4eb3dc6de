/** The bench's child processes (world, wabox, floor) and the messages they exchange over IPC. */
import { fork, type ChildProcess } from 'node:child_process'
import path from 'node:path'

export type ToPhones =
  | { t: 'phones'; count: number; concurrency: number }
  | { t: 'greet'; to: string; waIds: string[] }
  | { t: 'inbound'; to: string; rate: number; waIds: string[] }
  | { t: 'inbound-stop' }
  | { t: 'usage' }
  | { t: 'close' }

/** CPU since the process started (µs, user + system, all its threads), RSS now and peak RSS (MB). */
export interface Usage {
  cpuUs: number
  rssMb: number
  maxRssMb: number
}

export function usage(): Usage {
  const cpu = process.cpuUsage()
  return { cpuUs: cpu.user + cpu.system, rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20), maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }
}

export type Message = { t: string } & Record<string, unknown>

/** A forked child (TypeScript, or plain JavaScript for a `.mjs` script) that answers requests by message type. */
export class Child {
  readonly #proc: ChildProcess
  readonly #waiters = new Map<string, ((m: Message) => void)[]>()
  readonly #listeners = new Map<string, (m: Message) => void>()
  #exited = false

  /** `nice`: the child's scheduling priority (0 = as the bench's own). */
  constructor(readonly name: string, script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, nice = 0) {
    // e.g. WABOX_BENCH_WABOX_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the wabox process only
    const extra = process.env[`WABOX_BENCH_${name.toUpperCase()}_NODE_ARGS`]?.split(' ').filter(Boolean) ?? []
    const node = script.endsWith('.mjs') ? extra : [...extra, '--import', 'tsx']
    // through nice(1), so every thread of the child starts at that priority
    this.#proc = fork(path.join(import.meta.dirname, script), args, {
      ...(nice ? { execPath: 'nice', execArgv: ['-n', String(nice), process.execPath, ...node] } : { execArgv: node }),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.#proc.on('message', (raw) => {
      const m = raw as Message
      if (m.t === 'error') console.error(`[${name}] ${String(m.message)}`)
      const queue = this.#waiters.get(m.t)
      const waiter = queue?.shift()
      if (waiter) return waiter(m)
      this.#listeners.get(m.t)?.(m)
    })
    this.#proc.on('exit', (code) => {
      this.#exited = true
      for (const [t, queue] of this.#waiters) for (const w of queue) w({ t: 'exit', code, waitingFor: t })
      this.#waiters.clear()
    })
  }

  on(t: string, listener: (m: Message) => void): void {
    this.#listeners.set(t, listener)
  }

  send(msg: object): void {
    this.#proc.send(msg)
  }

  /** Sends `msg` (if given) and resolves with the next message of type `t`. */
  async next(t: string, msg?: object, timeoutMs = 600_000): Promise<Message> {
    if (this.#exited) throw new Error(`${this.name} has exited`)
    const reply = new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no '${t}' within ${timeoutMs} ms`)), timeoutMs)
      const queue = this.#waiters.get(t) ?? []
      queue.push((m) => {
        clearTimeout(timer)
        if (m.t === 'exit') reject(new Error(`${this.name} exited (code ${String(m.code)}) while waiting for '${t}'`))
        else resolve(m)
      })
      this.#waiters.set(t, queue)
    })
    if (msg) this.send(msg)
    return reply
  }

  async usage(): Promise<Usage> {
    return (await this.next('usage', { t: 'usage' })).usage as Usage
  }

  async close(): Promise<void> {
    if (this.#exited) return
    const exited = new Promise((resolve) => this.#proc.once('exit', resolve))
    this.send({ t: 'close' })
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), 30_000)
    await exited
    clearTimeout(timer)
  }
}
