/**
 * The engine thread of `wabox start`: CoreApp and housekeeping with their own database
 * connection, started by `EngineThread` (engine-host.ts). Run as a worker, never imported.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parentPort, workerData } from 'node:worker_threads'
import { systemClock } from '../clock.js'
import type { CoreBridge } from '../domain/bridge.js'
import { MediaVolume } from '../media/volume.js'
import { SqliteGate } from '../sqlite.js'
import { coreNode } from './compose/coreapp-node.js'
import { startNodeBeat } from './compose/node-beat.js'
import { remoteError, type EngineThreadData, type FromEngine, type ToEngine } from './engine-messages.js'
import { createLogger } from './logger.js'
import { openStoreFromConfig } from './open-store.js'

const data = workerData as EngineThreadData
const port = parentPort!
const config = { ...data.config, masterKey: data.config.masterKey && Buffer.from(data.config.masterKey) }
const logger = createLogger(config)
const post = (msg: FromEngine) => port.postMessage(msg)
const ENGINE_NICE_DELTA = 5
lowerThreadPriority(ENGINE_NICE_DELTA)

// the API thread's connection checkpoints the SQLite file for both
const sqlite = { checkpoints: false, gate: new SqliteGate(data.gate) }
const { database, store, mediaKey } = await openStoreFromConfig(config, systemClock, sqlite)
// its own sealer adopts a staged master key at each beat, as the API thread's does
const beat = await startNodeBeat(store, { id: `${data.ownerId}/engine`, kind: 'all-in-one' }, logger)
const media = new MediaVolume({ root: path.join(config.dataDir, 'media'), key: mediaKey, store })
const node = coreNode({
  store,
  media,
  clock: systemClock,
  logger,
  networkUrl: data.networkUrl,
  ownerId: data.ownerId,
  onCallback: () => post({ t: 'callback' }),
  ...(data.housekeepingIntervalMs === undefined ? {} : { housekeepingIntervalMs: data.housekeepingIntervalMs }),
})
const { coreapp } = node

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
  await node.stop()
  await beat.stop()
  await database.close()
  // with its port closed and nothing left to do, the thread exits: the host waits for that
  port.close()
}

/**
 * Lowers this thread's scheduling priority (Linux gives each thread its own nice value; elsewhere
 * the thread keeps the process's). A client waits on the API thread's answer, while the
 * engine's work is batched and absorbs a few milliseconds: when the cores are short, the API
 * goes first. The engine is never starved (at nice +5 it still gets a quarter of a contended core).
 */
function lowerThreadPriority(delta: number): void {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop())
    os.setPriority(tid, Math.min(19, os.getPriority(tid) + delta))
  } catch {
    // no per-thread priority here: the engine shares the process's
  }
}

await node.start()
post({ t: 'ready' })
