import path from 'node:path'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { WebSocketServer, type WebSocket } from 'ws'
import { systemClock } from '../clock.js'
import { DEFAULT_HTTP_TIMEOUTS, fastifyTimeouts } from '../http-timeouts.js'
import { privateDir } from '../private-files.js'
import { MAX_FRAME_BYTES } from '../wire/codec.js'
import { CloseCode } from '../wire/frames.js'
import { Accounts } from './accounts.js'
import { BlobStore, blobRoutes } from './blobs.js'
import { Connection, type NetworkServices } from './connection.js'
import { controlAuthHook, controlRoutes } from './control-routes.js'
import { openNetworkDatabase } from './database.js'
import { Integrity } from './integrity.js'
import { KeyDirectory } from './keys.js'
import { resolveLimits, templateReview, type NetworkServerOptions } from './options.js'
import { Relay } from './relay.js'
import { RequestMemo } from './request-memo.js'
import { Router } from './router.js'
import { TemplateRegistry } from './templates.js'
import { WabaMembers } from './waba-members.js'
import { tierUpdates } from './tier-updates.js'
import { UserIds } from './user-ids.js'
import { VnameIssuer } from './vname.js'
import { WriteBatcher } from './write-batcher.js'

export interface StartNetworkServerOptions extends NetworkServerOptions {
  /**
   * Adds routes (e.g. more `/control/...` routes) to the Fastify app before it listens;
   * Fastify accepts no routes once listening. `/control/` URLs get the bearer check too.
   */
  register?: (app: FastifyInstance) => Promise<void> | void
}

export interface NetworkServer {
  /** HTTP base, e.g. `http://127.0.0.1:41234` (blobs and `/control/`). */
  url: string
  /** WebSocket endpoint, `<url with ws:>/ws`. */
  wsUrl: string
  app: FastifyInstance
  issueVnameCertificate(cc: string, phone: string, displayName: string): Uint8Array
  lastCode(cc: string, phone: string): Promise<string | undefined>
  /** Runs the periodic sweep now: expired blobs, expired envelopes, old dedup entries, stale windows. */
  sweep(): Promise<void>
  /** Finishes in-flight writes, closes sockets with SHUTDOWN, then the HTTP server and the database. */
  close(): Promise<void>
}

const DAY = 24 * 60 * 60 * 1000
const CLOSE_GRACE_MS = 2000

export async function startNetworkServer(opts: StartNetworkServerOptions): Promise<NetworkServer> {
  const clock = opts.clock ?? systemClock
  const logger = opts.logger ?? pino({ name: 'wabox-network' })
  const profile = opts.profile ?? 'dev'
  const limits = resolveLimits(profile, opts.limits)
  privateDir(opts.dataDir)

  const { db, raw, close: closeDb } = await openNetworkDatabase(opts.dataDir, { fsync: opts.fsync ?? true })
  const batcher = new WriteBatcher(db, logger)
  const vname = VnameIssuer.load(opts.dataDir, clock)
  const router = new Router()
  const keys = new KeyDirectory(db, raw, batcher)
  const accounts = await Accounts.load({
    db,
    batcher,
    clock,
    logger,
    limits,
    vname,
    onReregister: (trx, waId) => keys.forget(trx, waId),
    onRegistered: (waId) => {
      // Deferred so that a session verifying its own number gets the ack before the close.
      setImmediate(() => {
        for (const conn of router.connectionsOf(waId)) conn.close(CloseCode.AUTH_FAILED, 'the number was registered again')
      })
    },
  })
  const userIds = UserIds.load(opts.dataDir, (waId) => accounts.get(waId))
  const integrity = await Integrity.load(db, batcher, clock, limits)
  const relay = new Relay({ db, raw, batcher, clock, integrity, limits, deliver: router.deliver })
  integrity.onTierEvent(tierUpdates({ batcher, relay, logger }))
  integrity.useAccounts((waId) => accounts.get(waId))
  const templates = new TemplateRegistry({ db, batcher, clock, relay, members: await WabaMembers.load(db), review: templateReview(profile, opts), quality: opts.templateQuality })
  const blobs = new BlobStore({ dir: path.join(opts.dataDir, 'blobs'), db, batcher, clock, ttlMs: opts.blobTtlMs ?? 14 * DAY, maxBytes: limits.maxBlobBytes })
  const memo = new RequestMemo(clock)
  const services: NetworkServices = { accounts, keys, relay, integrity, templates, router, memo, userIds, limits, clock, logger }

  // a frozen client is answered 408 and its socket closed, instead of holding it forever
  const { http, ...timeouts } = fastifyTimeouts({ ...DEFAULT_HTTP_TIMEOUTS, ...opts.httpTimeouts })
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), http, ...timeouts })
  app.addHook('onRequest', controlAuthHook(opts.controlToken))
  await app.register(blobRoutes(blobs, accounts))
  await app.register(controlRoutes({ accounts, vname, integrity, templates, router }), { prefix: '/control' })
  await opts.register?.(app)

  let closing = false
  const sockets = new Map<WebSocket, Connection>()
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false })
  app.server.on('upgrade', (request, socket, head) => {
    if (closing || new URL(request.url ?? '/', 'http://localhost').pathname !== '/ws') return void socket.destroy()
    wss.handleUpgrade(request, socket, head, (ws) => {
      sockets.set(ws, new Connection(ws, services))
      ws.once('close', () => sockets.delete(ws))
    })
  })

  const host = opts.host ?? '127.0.0.1'
  try {
    await app.listen({ host, port: opts.port ?? 0 })
  } catch (err) {
    await app.close()
    await closeDb()
    throw err
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : opts.port
  const url = `http://${urlHost(host)}:${port}`

  const pinger = setInterval(() => sockets.forEach((conn) => conn.heartbeat()), opts.pingIntervalMs ?? 30_000)
  pinger.unref()
  const sweep = async (): Promise<void> => {
    await blobs.sweep()
    await relay.sweep()
    await templates.sweep()
    integrity.sweep()
    await integrity.reviewTiers(accounts.list())
    memo.sweep()
  }
  let sweeping: Promise<void> | undefined
  const sweeper = setInterval(() => {
    sweeping ??= sweep()
      .catch((err: unknown) => logger.error({ err }, 'sweep failed'))
      .finally(() => (sweeping = undefined))
  }, opts.sweepIntervalMs ?? 60_000)
  sweeper.unref()
  logger.info({ url, dataDir: opts.dataDir, profile }, 'network server listening')

  return {
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/ws`,
    app,
    issueVnameCertificate: (cc, phone, displayName) => vname.issue(cc, phone, displayName),
    lastCode: (cc, phone) => accounts.lastCode(cc, phone),
    sweep,
    async close() {
      if (closing) return
      closing = true
      clearInterval(pinger)
      clearInterval(sweeper)
      await sweeping
      for (const conn of sockets.values()) conn.drain()
      await batcher.close()
      await Promise.all([...sockets.entries()].map(([ws, conn]) => closeSocket(ws, conn)))
      await app.close()
      await closeDb()
      logger.info('network server stopped')
    },
  }
}

function closeSocket(ws: WebSocket, conn: Connection): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS)
    ws.once('close', () => {
      clearTimeout(force)
      resolve()
    })
    conn.close(CloseCode.SHUTDOWN, 'server shutting down')
  })
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1'
  if (host === '::') return '[::1]'
  return host.includes(':') ? `[${host}]` : host
}
