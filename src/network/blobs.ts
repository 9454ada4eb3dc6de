import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { Clock } from '../clock.js'
import { randomToken } from '../ids.js'
import type { Account, Accounts } from './accounts.js'
import type { NetworkDb } from './database.js'
import { networkErrorHandler } from './http-errors.js'
import { WireFailure } from './wire-failure.js'
import type { WriteBatcher } from './write-batcher.js'

const BLOB_ID = /^[A-Za-z0-9_-]{1,64}$/

export interface BlobStoreDeps {
  dir: string
  db: NetworkDb
  batcher: WriteBatcher
  clock: Clock
  ttlMs: number
  maxBytes: number
}

/** Encrypted media blobs: one file per blob under `<dataDir>/blobs`, a row with owner and expiry. */
export class BlobStore {
  readonly #d: BlobStoreDeps

  constructor(deps: BlobStoreDeps) {
    this.#d = deps
    fs.mkdirSync(deps.dir, { recursive: true, mode: 0o700 })
  }

  /** Streams the bytes to disk (fsynced) before recording the blob. */
  async put(owner: string, body: Readable): Promise<string> {
    const id = randomToken(18)
    const file = this.#file(id)
    const partial = `${file}.part`
    let size = 0
    const maxBytes = this.#d.maxBytes
    const limit = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length
        done(size > maxBytes ? new WireFailure('bad_request', `blobs are at most ${maxBytes} bytes`, 413) : null, chunk)
      },
    })
    try {
      await pipeline(body, limit, fs.createWriteStream(partial, { flags: 'wx', mode: 0o600, flush: true }))
      await fsp.rename(partial, file)
    } catch (err) {
      await fsp.rm(partial, { force: true })
      throw err
    }
    const now = this.#d.clock.now()
    await this.#d.batcher.run((trx) => trx.insertInto('blobs').values({ id, owner, size, created_at: now, expires_at: now + this.#d.ttlMs }).execute())
    return id
  }

  /** The file of a blob that exists and has not expired. */
  async find(id: string): Promise<{ file: string; size: number } | undefined> {
    if (!BLOB_ID.test(id)) return undefined
    const row = await this.#d.db.selectFrom('blobs').select(['size', 'expires_at']).where('id', '=', id).executeTakeFirst()
    if (!row || row.expires_at <= this.#d.clock.now()) return undefined
    return { file: this.#file(id), size: row.size }
  }

  /** Deletes expired blobs: rows first, so a crash in between leaves only unreachable files. */
  async sweep(): Promise<number> {
    const now = this.#d.clock.now()
    const expired = await this.#d.batcher.run((trx) => trx.deleteFrom('blobs').where('expires_at', '<=', now).returning('id').execute())
    await Promise.all(expired.map(({ id }) => fsp.rm(this.#file(id), { force: true })))
    return expired.length
  }

  #file(id: string): string {
    return path.join(this.#d.dir, id)
  }
}

/** `POST /blobs` (raw bytes → `{blobId}`) and `GET /blobs/:id`, both with HTTP Basic waId:password. */
export function blobRoutes(store: BlobStore, accounts: Accounts): FastifyPluginAsync {
  return async (app) => {
    app.setErrorHandler(networkErrorHandler)
    // Bodies are ciphertext of any type: hand the raw stream to the store instead of buffering it.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', (_request, payload, done) => done(null, payload))

    app.post('/blobs', async (request) => {
      const account = authenticate(request, accounts)
      if (!request.body) throw new WireFailure('bad_request', 'the body is the blob')
      return { blobId: await store.put(account.waId, request.body as Readable) }
    })

    app.get<{ Params: { id: string } }>('/blobs/:id', async (request, reply) => {
      authenticate(request, accounts)
      const blob = await store.find(request.params.id)
      if (!blob) throw new WireFailure('not_found', 'no such blob (or it expired)')
      return reply.header('content-type', 'application/octet-stream').header('content-length', blob.size).send(fs.createReadStream(blob.file))
    })
  }
}

function authenticate(request: FastifyRequest, accounts: Accounts): Account {
  const header = request.headers.authorization ?? ''
  const [scheme, encoded] = header.split(' ')
  const decoded = scheme?.toLowerCase() === 'basic' && encoded ? Buffer.from(encoded, 'base64').toString() : ''
  const colon = decoded.indexOf(':')
  const account = colon > 0 ? accounts.authenticate(decoded.slice(0, colon), decoded.slice(colon + 1)) : undefined
  if (!account) throw new WireFailure('unauthorized', 'HTTP Basic auth with wa_id:password required')
  return account
}
