/**
 * The floor of `npm run bench`, in its own process: a minimal Fastify `POST /v1/messages`
 * that does one SQLite insert per request (WAL, synchronous=NORMAL, as wabox's SQLite) and
 * answers the On-Prem shape. Whatever wabox costs above this is its own overhead.
 *
 * argv: <sqlite file>
 */
import { randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'
import Fastify from 'fastify'
import { usage } from './ipc.js'

const db = new Database(process.argv[2]!)
db.pragma('journal_mode = WAL')
db.pragma('synchronous = NORMAL')
db.exec('CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, recipient TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL)')
const insert = db.prepare('INSERT INTO messages (id, recipient, body, created_at) VALUES (?, ?, ?, ?)')

const app = Fastify({ logger: false })
app.post<{ Body: { to: string } }>('/v1/messages', async (request) => {
  const id = 'gBEGk' + randomBytes(12).toString('hex')
  insert.run(id, request.body.to, JSON.stringify(request.body), Math.round(performance.timeOrigin + performance.now()))
  return { messages: [{ id }], meta: { api_status: 'stable', version: 'floor' } }
})
const url = await app.listen({ host: '127.0.0.1', port: 0 })

process.on('message', (raw) => {
  const msg = raw as { t: string }
  if (msg.t === 'usage') process.send!({ t: 'usage', usage: usage() })
  if (msg.t === 'close') {
    void app.close().then(() => {
      db.close()
      process.send!({ t: 'closed' })
      process.exit(0)
    })
  }
})
process.send!({ t: 'ready', url })
