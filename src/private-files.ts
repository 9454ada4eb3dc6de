import fs from 'node:fs'
import path from 'node:path'

/**
 * Owner-only files and folders for everything that holds secrets or messages (the data
 * directory, databases, phone state), whatever the umask and whether they existed already.
 * A mode given at creation is narrowed by the umask but never widened, so what we create is
 * set explicitly; what exists and is ours is narrowed. Another user's file stays as its owner
 * made it (only the owner may chmod).
 */

/**
 * Creates `dir` (missing parents as `mkdir -p` would) with mode 0700; an existing one is
 * narrowed to its owner's permissions unless `narrowExisting` is false.
 */
export function privateDir(dir: string, narrowExisting = true): void {
  if (mkdirs(dir)) fs.chmodSync(dir, 0o700)
  const stat = fs.statSync(dir)
  if (!stat.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, '${dir}'`), { code: 'ENOTDIR', syscall: 'mkdir', path: dir })
  if (narrowExisting && stat.mode & 0o077 && isMine(stat)) fs.chmodSync(dir, stat.mode & 0o700)
}

/** Creates `file` empty with mode 0600 unless it exists; narrows it (and `also`, when present) to 0600. */
export function privateFile(file: string, also: string[] = []): void {
  fs.closeSync(fs.openSync(file, 'a', 0o600))
  for (const f of [file, ...also]) {
    const stat = fs.statSync(f, { throwIfNoEntry: false })
    if (stat && (stat.mode & 0o777) !== 0o600 && isMine(stat)) fs.chmodSync(f, 0o600)
  }
}

function isMine(stat: fs.Stats): boolean {
  return stat.uid === process.getuid?.()
}

/**
 * `mkdir -p` (parents get the default mode), true if `dir` itself was created. Not Node's
 * `recursive: true`: where mkdir answers ENOENT under a parent that exists (`/proc`), that
 * one retries forever at 100 % CPU.
 */
function mkdirs(dir: string, mode = 0o700, parentDone = false): boolean {
  try {
    fs.mkdirSync(dir, { mode })
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    const parent = path.dirname(dir)
    // a second ENOENT once the parent exists is final
    if (code !== 'ENOENT' || parent === dir || parentDone) throw err
    mkdirs(parent, 0o777)
    return mkdirs(dir, mode, true)
  }
}
