import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Config } from '../config/config.js'
import type { CoreBridge } from '../domain/bridge.js'
import type { SqliteGate } from '../sqlite.js'
import { OnPremCode, WaboxError } from '../errors/index.js'
import { lingeringNotice } from './compose/notice-linger.js'
import { fromRemoteError, type EngineThreadData, type FromEngine, type ToEngine } from './engine-messages.js'

export interface EngineThreadOptions {
  config: Config
  /** Shared with the API thread's SQLite connection. */
  gate: SqliteGate
  networkUrl: string
  /** Identifies this process in shard leases. */
  ownerId: string
  housekeepingIntervalMs?: number
  /** Callbacks were committed: wake the webhook dispatcher. */
  onCallback: () => void
  /** The thread died on its own (an uncaught error): the process has no engine any more. */
  onCrash: (err: Error) => void
}

/**
 * The engine's V8 heap. With the defaults (a 4 GB old space on this kind of machine) V8 let
 * the engine's heap grow to ~4× its ~25 MB of live objects between collections and kept 48 MB
 * of young generation: ~95 MB of RSS more at 1,000 msg/s. A smaller maximum makes V8 collect
 * at ~1.6× (its growing factor scales with the limit); 1 GB is still ~40× what the engine
 * holds. The bench showed no CPU cost above its noise (docs/benchmarks.md).
 */
const ENGINE_HEAP = { maxOldGenerationSizeMb: 1024, maxYoungGenerationSizeMb: 16 }

/**
 * The CoreApp on its own thread (engine-thread.ts), with its own connection to the database.
 * One event loop for API and engine made every request wait behind Signal work, status
 * writes and network frames: under load the API answered in 30–150 ms though its own work
 * takes about 1 ms. The API reaches the engine only through the store, wake-ups and
 * `bridge`, the same seams a separate CoreApp process would use.
 */
export class EngineThread {
  readonly bridge: CoreBridge
  readonly #worker: Worker
  readonly #calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  // the requests of a few group commits wake the engine once
  readonly #wake = lingeringNotice<string>((phoneNumberIds) => this.#post({ t: 'wake', phoneNumberIds }))
  #nextCall = 0
  #exited = false
  #closing: Promise<void> | undefined

  private constructor(worker: Worker) {
    this.#worker = worker
    const remote = <M extends keyof CoreBridge>(method: M) =>
      ((...args: unknown[]) => this.#call(method, args)) as CoreBridge[M]
    this.bridge = {
      requestCode: remote('requestCode'),
      verify: remote('verify'),
      setPin: remote('setPin'),
      setShards: remote('setShards'),
      markRead: remote('markRead'),
      checkContacts: remote('checkContacts'),
      resolveUserId: remote('resolveUserId'),
      templates: remote('templates'),
      manageTemplates: remote('manageTemplates'),
    }
  }

  /** Resolves once the engine has taken its shard leases and connected. */
  static start(opts: EngineThreadOptions): Promise<EngineThread> {
    const { config, networkUrl, ownerId, housekeepingIntervalMs } = opts
    const data: EngineThreadData = { config, gate: opts.gate.buffer, networkUrl, ownerId, housekeepingIntervalMs }
    // the sibling module as this one is running: engine-thread.js from dist/, .ts from the
    // sources, where the worker must register tsx itself (it does not inherit the loader)
    const ext = extname(fileURLToPath(import.meta.url))
    const entry = new URL(`./engine-thread${ext}`, import.meta.url)
    const options = { workerData: data, resourceLimits: ENGINE_HEAP }
    const worker = ext === '.ts'
      ? new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}) })`, { ...options, eval: true })
      : new Worker(entry, options)
    const engine = new EngineThread(worker)
    return new Promise((resolve, reject) => {
      let ready = false
      worker.on('message', (msg: FromEngine) => {
        if (msg.t === 'ready') {
          ready = true
          resolve(engine)
        } else {
          engine.#onMessage(msg, opts.onCallback)
        }
      })
      let failure: Error | undefined
      worker.on('error', (err) => (failure = err))
      worker.on('exit', (code) => {
        const err = failure ?? new Error(`the engine thread exited with code ${code}`)
        engine.#exited = true
        engine.#failCalls()
        if (!ready) reject(err)
        else if (!engine.#closing) opts.onCrash(err)
      })
    })
  }

  /** Messages were queued for this number: the engine claims them within a few ms, not at its next poll. */
  wake(phoneNumberId: string): void {
    this.#wake(phoneNumberId)
  }

  /** Stops the engine (pending commits finish, leases are given back) and ends the thread. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (this.#exited) return resolve()
      this.#worker.once('exit', () => resolve())
      this.#post({ t: 'close' })
    })
    return this.#closing
  }

  #call(method: keyof CoreBridge, args: unknown[]): Promise<never> {
    return new Promise((resolve, reject) => {
      const id = this.#nextCall++
      this.#calls.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.#post({ t: 'call', id, method, args })
    })
  }

  #onMessage(msg: FromEngine, onCallback: () => void): void {
    if (msg.t === 'callback') return onCallback()
    if (msg.t !== 'result') return
    const call = this.#calls.get(msg.id)
    this.#calls.delete(msg.id)
    if (msg.error) call?.reject(fromRemoteError(msg.error))
    else call?.resolve(msg.value)
  }

  #post(msg: ToEngine): void {
    this.#worker.postMessage(msg)
  }

  #failCalls(): void {
    for (const call of this.#calls.values()) call.reject(new WaboxError(OnPremCode.SERVICE_NOT_READY, 'the message engine stopped'))
    this.#calls.clear()
  }
}
