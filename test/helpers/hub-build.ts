import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

/** The built Hub (`npm run build` makes it; a fresh clone's `npm ci` runs that): built here if missing. */
export function ensureHubBuilt(): string {
  const dir = path.resolve('dist/hub')
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'hub/vite.config.ts', '--logLevel', 'warn'], { stdio: 'inherit' })
  }
  return dir
}
