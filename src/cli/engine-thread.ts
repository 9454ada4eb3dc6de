/**
 * The engine thread of `wabox start`: CoreApp and housekeeping with their own database
 * connection, started by `EngineThread` (engine-host.ts). Run as a worker, never imported.
 */
import path from 'node:path'
import { parentPort, workerData } from 'node:worker_threads'
import { systemClock } from '../clock.js'
import { CoreApp, Housekeeper } from '../coreapp/index.js'
import type { CoreBridge } from '../domain/bridge.js'
import { deriveMediaKey } from '../media/sealed-stream.js'
import { MediaVolume } from '../media/volume.js'
import { SqliteGate } from '../sqlite.js'
import { remoteError, type EngineThreadData, type FromEngine, type ToEngine } from './engine-messages.js'
import { createLogger } from './logger.js'
import { openStoreFromConfig } from './open-store.js'

const data = workerData as EngineThreadData
const port = parentPort!
const config = { ...data.config, masterKey: data.config.masterKey && Buffer.from(data.config.masterKey) }
const logger = createLogger(config.logLevel)
const post = (msg: FromEngine) => port.postMessage(msg)

// the API thread's connection checkpoints the SQLite file for both
const sqlite = { checkpoints: false, gate: new SqliteGate(data.gate) }
const { database, store, atRestKey } = await openStoreFromConfig(config, systemClock, sqlite)
const media = new MediaVolume({ root: path.join(config.dataDir, 'media'), key: deriveMediaKey(atRestKey), store })
// callbacks committed in one turn wake the dispatcher once
let callbackPosted = false
const coreapp = new CoreApp({
  store,
  clock: systemClock,
  logger,
  networkUrl: data.networkUrl,
  media,
  ownerId: data.ownerId,
  onCallback: () => {
    if (callbackPosted) return
    callbackPosted = true
    setImmediate(() => {
      callbackPosted = false
      post({ t: 'callback' })
    })
  },
})
const housekeeper = new Housekeeper({
  store, media, clock: systemClock, logger: logger.child({ component: 'housekeeping' }),
  ...(data.housekeepingIntervalMs === undefined ? {} : { intervalMs: data.housekeepingIntervalMs }),
})

port.on('message', (msg: ToEngine) => {
  switch (msg.t) {
    case 'wake':
      for (const id of msg.phoneNumberIds) coreapp.wake(id)
      return
    case 'call':
      void call(msg.id, msg.method, msg.args)
      return
    case 'close':
      void close()
  }
})

async function call(id: number, method: keyof CoreBridge, args: unknown[]): Promise<void> {
  try {
    const fn = coreapp.bridge[method] as (...a: unknown[]) => Promise<unknown>
    post({ t: 'result', id, value: await fn.apply(coreapp.bridge, args) })
  } catch (err) {
    post({ t: 'result', id, error: remoteError(err) })
  }
}

async function close(): Promise<void> {
  await housekeeper.stop()
  await coreapp.stop()
  await database.close()
  // with its port closed and nothing left to do, the thread exits: the host waits for that
  port.close()
}

await coreapp.start()
housekeeper.start()
post({ t: 'ready' })
