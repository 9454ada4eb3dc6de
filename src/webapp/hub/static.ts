import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
}

/** Everything the page loads comes from here; no inline script or style, no other origin. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * Where the built front end is: `dist/hub` next to `dist/webapp/` when running the package,
 * the repository's `dist/hub` when running from the sources.
 */
export function defaultAssetsDir(): string {
  const candidates = ['../../hub', '../../../dist/hub'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'index.html'))) ?? candidates[0]!
}

function filesUnder(dir: string, prefix = ''): string[] {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => entry.isDirectory()
    ? filesUnder(path.join(dir, entry.name), `${prefix}${entry.name}/`)
    : [`${prefix}${entry.name}`])
}

/**
 * Serves the built Hub: `/hub/` is its page, each built file one route (read once at start).
 * Bundled file names carry a content hash, so they are cached for good; the page never is.
 */
export function hubStaticRoutes(app: FastifyInstance, dir: string): void {
  const hide = { hide: true }
  const files = filesUnder(dir)
  const index = files.includes('index.html') ? fs.readFileSync(path.join(dir, 'index.html')) : undefined
  const page = async (_request: unknown, reply: import('fastify').FastifyReply) => {
    if (!index) {
      return reply.code(503).type('text/plain; charset=utf-8')
        .send(`The Hub is not built: run "npm run build" (looked for ${path.join(dir, 'index.html')})`)
    }
    return reply.type(TYPES['.html']!).header('cache-control', 'no-store').send(index)
  }
  app.get('/hub', { schema: hide }, page)
  app.get('/hub/', { schema: hide }, page)
  for (const file of files) {
    if (file === 'index.html') continue
    const body = fs.readFileSync(path.join(dir, file))
    const type = TYPES[path.extname(file)] ?? 'application/octet-stream'
    const cache = file.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'
    app.get(`/hub/${file}`, { schema: hide }, async (_request, reply) => reply.type(type).header('cache-control', cache).send(body))
  }
}
