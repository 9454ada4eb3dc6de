import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { Command } from 'commander'
import type { Config } from '../config/config.js'
import { countNotCurrent, endRotation, resealAll, saveMediaKey } from '../store/key-rotation.js'
import { keyIdOf, masterKeyFile, nextMasterKeyFile, readKeyFile } from '../store/sealer.js'
import { CliError } from './cli-error.js'
import { configFrom, withConfigFlags } from './config-flags.js'
import type { Flags, KeysOutput } from './commands/keys-command.js'
import { openStoreFromConfig } from './open-store.js'

const NODE_KINDS = ['coreapp', 'webapp', 'webhooks'] as const
/** A node that beat this recently may still be running. */
const LIVE_MS = 30_000

/** Test aid: stop (alive) after this many batches, so a test can kill the rotation mid-way. */
const PAUSE_AFTER = Number(process.env.WABOX_KEY_ROTATION_PAUSE_AFTER ?? 0)

/** `wabox keys rotate-master`: a new master key, every sealed value re-sealed with it, the old key dropped. */
export function rotateMasterCommand(output: KeysOutput): Command {
  return withConfigFlags(new Command('rotate-master'))
    .description('seal everything with a new master key (resumable: run it again after a crash); stop the deployment first')
    .option('--new-key-file <file>', 'the new key (64 hex digits); default: a random key')
    .option('--batch-size <n>', 'rows re-sealed per transaction', '500')
    .action(async (flags: Flags & { newKeyFile?: string; batchSize: string }) => {
      const batch = Number(flags.batchSize)
      if (!Number.isInteger(batch) || batch < 1) throw new CliError('--batch-size must be a positive whole number')
      await rotateMaster(configFrom(flags), flags.newKeyFile, batch, output)
    })
}

async function rotateMaster(config: Config, newKeyFile: string | undefined, batch: number, output: KeysOutput): Promise<void> {
  if (config.masterKey) throw new CliError('WABOX_MASTER_KEY is set: rotate-master rotates the key file master.key of --data-dir; unset it (move the key into the file) first')
  const current = readKeyFile(masterKeyFile(config.dataDir))
  if (!current) throw new CliError(`no master.key in ${config.dataDir}: pass the --data-dir of your instance`)
  await refuseWhileRunning(config)
  const next = stageNextKey(config.dataDir, current, newKeyFile)
  output.err(`rotating the master key ${keyIdOf(current)} to ${keyIdOf(next)}`)
  // with master.key.next in place the store opens with both keys and seals with the new one
  const { database, store, mediaKey } = await openStoreFromConfig(config)
  try {
    const sealer = store.ctx.sealer
    await saveMediaKey(database, sealer, mediaKey)
    const report = await resealAll(database, sealer, batch, async (r) => {
      output.err(`re-sealed ${r.resealed} values in ${r.batches} batches`)
      if (PAUSE_AFTER > 0 && r.batches >= PAUSE_AFTER) {
        output.err('paused')
        await new Promise(() => setInterval(() => undefined, 60_000))
      }
    })
    const left = await countNotCurrent(database, sealer)
    if (left > 0) throw new CliError(`${left} values are still sealed with the old key (written by a running process?): stop the deployment and run rotate-master again`)
    // nothing uses the old key any more: drop it
    fs.renameSync(nextMasterKeyFile(config.dataDir), masterKeyFile(config.dataDir))
    await endRotation(database)
    output.out(`master key rotated to ${keyIdOf(next)}: ${report.resealed} values re-sealed`)
  } finally {
    await database.close()
  }
}

/** A running process would go on sealing with the key it holds: the rotation waits until none beats. */
async function refuseWhileRunning(config: Config): Promise<void> {
  const { database, store } = await openStoreFromConfig(config)
  try {
    const running = (await Promise.all(NODE_KINDS.map((kind) => store.nodes.live(kind, LIVE_MS)))).flat()
    if (running.length === 0) return
    throw new CliError(`${running.map((n) => `${n.kind} ${n.id}`).join(', ')} ${running.length === 1 ? 'is' : 'are'} running on this database: stop ${running.length === 1 ? 'it' : 'them'} (or wait ${LIVE_MS / 1000} s after a crash) and run rotate-master again`)
  } finally {
    await database.close()
  }
}

/** The key of the rotation under way, or the chosen new key, written to master.key.next before anything is sealed with it. */
function stageNextKey(dataDir: string, current: Buffer, newKeyFile: string | undefined): Buffer {
  const file = nextMasterKeyFile(dataDir)
  const chosen = newKeyFile === undefined ? undefined : readKeyFile(path.resolve(newKeyFile))
  if (newKeyFile !== undefined && !chosen) throw new CliError(`--new-key-file ${newKeyFile} does not exist`)
  const staged = readKeyFile(file)
  if (staged) {
    if (chosen && !chosen.equals(staged)) throw new CliError(`a rotation to key ${keyIdOf(staged)} is under way (${file}): run rotate-master without --new-key-file to finish it`)
    return staged
  }
  const next = chosen ?? randomBytes(32)
  if (next.equals(current)) throw new CliError('the new key is the current key')
  const tmp = `${file}.tmp`
  const fd = fs.openSync(tmp, 'w', 0o600)
  try {
    fs.writeSync(fd, next.toString('hex') + '\n')
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, file)
  return next
}
