import type { FastifyInstance } from 'fastify'
import type { Server as HttpsServer } from 'node:https'
import { buildWebApp } from './app.js'
import type { WebAppDeps } from './context.js'
import { ensureTls } from './tls.js'

export interface WebServerOptions extends Omit<WebAppDeps, 'https' | 'onCertificateChange'> {
  host: string
  /** 0 picks a free port. */
  port: number
  /** true: plain HTTP; false (default): HTTPS with the certificate in `<dataDir>/tls`. */
  http?: boolean
}

export interface WebServer {
  app: FastifyInstance
  /** e.g. `https://127.0.0.1:9090` */
  url: string
  port: number
  close(): Promise<void>
}

/**
 * Builds the app and listens. HTTPS by default: a self-signed certificate is generated into the
 * data directory on first start; `POST /v1/certificates/external` replaces it and this server
 * switches to the new one without a restart.
 */
export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const { host, port, http, ...deps } = options
  let app: FastifyInstance
  if (http) {
    app = await buildWebApp(deps)
  } else {
    const tls = await ensureTls(deps.dataDir, deps.clock, [host])
    app = await buildWebApp({
      ...deps,
      https: tls,
      onCertificateChange: (next) => (app.server as unknown as HttpsServer).setSecureContext(next),
    })
  }
  await app.listen({ host, port })
  const address = app.server.address()
  const bound = typeof address === 'object' && address ? address.port : port
  const shownHost = host.includes(':') ? `[${host}]` : host
  return { app, url: `${http ? 'http' : 'https'}://${shownHost}:${bound}`, port: bound, close: () => app.close() }
}
