/**
 * The bench runs wabox from dist/, as users do. dist/ is built by `npm ci` (prepare) and by
 * `npm run build`; when a file under src/ is newer than the build, it is compiled again first
 * (TypeScript only: the Hub's bundle is not part of what the bench measures).
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const root = path.join(import.meta.dirname, '..')
const STAMP = path.join(root, 'dist', 'cli', 'all-in-one.js')

function newestSource(dir: string): number {
  let newest = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : fs.statSync(full).mtimeMs)
  }
  return newest
}

export function ensureDist(log: (line: string) => void): void {
  const built = fs.existsSync(STAMP) ? fs.statSync(STAMP).mtimeMs : 0
  if (built >= newestSource(path.join(root, 'src'))) return
  log('bench: compiling src/ into dist/ (a source is newer than the build)')
  // tsc writes every output file, so the stamp is newer than the sources afterwards
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' })
}
