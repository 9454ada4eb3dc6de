import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { Command, InvalidArgumentError } from 'commander'
import type { Config } from '../config/config.js'
import { endRotation, resealUntilCurrent, rotationKeyId, saveMediaKey, setSealingKey } from '../store/key-rotation.js'
import type { NodeInfo } from '../store/nodes.js'
import { keyIdOf, masterKeyFile, nextMasterKeyFile, readKeyFile } from '../store/sealer.js'
import type { Store } from '../store/store.js'
import { CliError } from './cli-error.js'
import { configFrom, withConfigFlags } from './config-flags.js'
import type { Flags, KeysOutput } from './commands/keys-command.js'
import { openStoreFromConfig } from './open-store.js'

/** How often the nodes' heartbeats are read while waiting for them to adopt the new key. */
const POLL_MS = 250

/** Test aid: stop (alive) after this many batches, so a test can kill the rotation mid-way. */
const PAUSE_AFTER = Number(process.env.WABOX_KEY_ROTATION_PAUSE_AFTER ?? 0)

type RotateFlags = Flags & {
  newKeyFile?: string
  batchSize: number
  liveWindow: number
  adoptTimeout: number
}

/** `wabox keys rotate-master`: a new master key adopted by every running process, every sealed value re-sealed with it, the old key dropped. */
export function rotateMasterCommand(output: KeysOutput): Command {
  return withConfigFlags(new Command('rotate-master'))
    .description('seal everything with a new master key while the deployment serves (resumable: run it again after a crash)')
    .option('--new-key-file <file>', 'the new key (64 hex digits); default: a random key')
    .option('--batch-size <n>', 'rows re-sealed per transaction', whole, 500)
    .option('--live-window <s>', 'a node that beat within this many seconds counts as running and must adopt the new key first (at least the longest --unhealthy-interval of the deployment)', whole, 30)
    .option('--adopt-timeout <s>', 'how long to wait for every running node to seal with the new key before giving up (nothing is re-sealed then)', whole, 120)
    .action(async (flags: RotateFlags) => {
      await rotateMaster(configFrom(flags), flags, output)
    })
}

async function rotateMaster(config: Config, flags: RotateFlags, output: KeysOutput): Promise<void> {
  if (config.masterKey) throw new CliError('WABOX_MASTER_KEY is set: rotate-master rotates the key file master.key of --data-dir; unset it (move the key into the file) first')
  const current = readKeyFile(masterKeyFile(config.dataDir))
  if (!current) throw new CliError(`no master.key in ${config.dataDir}: pass the --data-dir of your instance`)
  const { database, store, mediaKey } = await openStoreFromConfig(config)
  try {
    // killed after the rename: the new key is master.key already, only the progress row is left
    if (!fs.existsSync(nextMasterKeyFile(config.dataDir)) && (await rotationKeyId(database)) === keyIdOf(current)) {
      await endRotation(database)
      output.out(`master key rotated to ${keyIdOf(current)}: 0 values re-sealed`)
      return
    }
    const next = stageNextKey(config.dataDir, current, flags.newKeyFile)
    const nextId = keyIdOf(next)
    output.err(`rotating the master key ${keyIdOf(current)} to ${nextId}`)
    // from now on every process whose files hold the key seals with it, this one too
    await setSealingKey(database, nextId)
    const sealer = store.ctx.sealer
    sealer.refresh(nextId)
    if (sealer.keyId !== nextId) throw new CliError(`${nextMasterKeyFile(config.dataDir)} could not be read back`)
    await waitForAdoption(store, nextId, flags, output)
    await saveMediaKey(database, sealer, mediaKey)
    const report = await resealUntilCurrent(database, sealer, flags.batchSize, {
      regions: store.ctx.regions,
      afterBatch: async (r) => {
        output.err(`re-sealed ${r.resealed} values in ${r.batches} batches`)
        if (PAUSE_AFTER > 0 && r.batches >= PAUSE_AFTER) {
          output.err('paused')
          await new Promise(() => setInterval(() => undefined, 60_000))
        }
      },
    })
    if (report.left > 0) throw new CliError(`${report.left} values were still sealed with the old key in the last of several passes: a process that is not in the node registry (or beats less often than --live-window) still seals with it; find it, then run rotate-master again`)
    // nothing uses the old key any more: drop it (running processes see the rename at their next beat)
    fs.renameSync(nextMasterKeyFile(config.dataDir), masterKeyFile(config.dataDir))
    await endRotation(database)
    output.out(`master key rotated to ${nextId}: ${report.resealed} values re-sealed`)
  } finally {
    await database.close()
  }
}

/**
 * Waits until every node that beat within the live window reports sealing with the new key:
 * only then can no new value be sealed with the old one. A node that stops beating drops out.
 */
async function waitForAdoption(store: Store, keyId: string, flags: RotateFlags, output: KeysOutput): Promise<void> {
  const clock = store.ctx.clock
  const deadline = clock.now() + flags.adoptTimeout * 1000
  let reported = ''
  for (;;) {
    const pending = (await store.nodes.live(undefined, flags.liveWindow * 1000)).filter((n) => n.sealingKeyId !== keyId)
    if (pending.length === 0) break
    const names = pending.map(nodeName).join(', ')
    if (clock.now() > deadline) {
      throw new CliError(`${names} did not adopt key ${keyId} within ${flags.adoptTimeout} s; nothing was re-sealed. Each host needs this master.key.next in its data directory (a process with WABOX_MASTER_KEY cannot adopt it); fix or stop ${pending.length === 1 ? 'it' : 'them'} and run rotate-master again`)
    }
    if (names !== reported) output.err(`waiting for ${names} to seal with key ${keyId}`)
    reported = names
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
  output.err(`every running node seals with key ${keyId}`)
}

function nodeName(n: NodeInfo): string {
  return `${n.kind} ${n.id} (key ${n.sealingKeyId ?? 'unknown'})`
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

function whole(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive whole number')
  return n
}
