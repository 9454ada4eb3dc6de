import { X509Certificate } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { WebContext } from '../context.js'
import { invalid, missing } from '../errors.js'
import { parseCertificateBundle, PEM_BLOCK, readCa, saveTls } from '../tls.js'

const PEM_TYPES = ['text/plain', 'application/x-pem-file', 'application/x-x509-ca-cert', 'application/octet-stream']

function pemBody(body: unknown): string {
  if (typeof body !== 'string' || body.trim() === '') throw missing('body', 'send the PEM text as the body (Content-Type: text/plain)')
  return body
}

/** Certificates: the Webapp's own TLS certificate and the CA of the number's webhook endpoint. */
export function certificateRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.register(async (pem) => {
    pem.removeAllContentTypeParsers()
    pem.addContentTypeParser(PEM_TYPES, { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_request, body, done) => done(null, body))

    // the certificate every tenant's clients connect to
    pem.post('/v1/certificates/external', {
      config: { access: 'deployment' },
      schema: {
        tags: ['certificates'],
        summary: 'Replace the Webapp TLS certificate: PEM of the private key, the certificate, then its chain',
        description: 'Stored in <data dir>/tls. The running server switches to it at once; other Webapp processes on the same data dir need a restart.',
      },
    }, async (request) => {
      const bundle = parseCertificateBundle(pemBody(request.body), ctx.deps.clock)
      saveTls(ctx.deps.dataDir, bundle)
      if (ctx.deps.onCertificateChange) ctx.deps.onCertificateChange({ key: bundle.key, cert: bundle.cert })
      else request.log.warn('new TLS certificate stored; restart the Webapp to serve it')
      return ctx.ok()
    })

    // public material (every TLS client sees the chain), so number admins may fetch it to trust it
    pem.get('/v1/certificates/external/ca', {
      config: { access: 'admin' },
      schema: { tags: ['certificates'], summary: 'The CA certificate (PEM) clients should trust; 404 without a body if none' },
    }, async (_request, reply) => {
      const ca = readCa(ctx.deps.dataDir)
      if (!ca) return reply.code(404).send()
      return reply.type('text/plain; charset=utf-8').send(ca)
    })

    pem.post('/v1/certificates/webhooks/ca', {
      config: { access: 'admin' },
      schema: { tags: ['certificates'], summary: 'Trust this CA (PEM) for the number\'s webhook endpoint' },
    }, async (request) => {
      const number = await ctx.number(request)
      const blocks = [...pemBody(request.body).matchAll(PEM_BLOCK)].filter((m) => m[1] === 'CERTIFICATE').map((m) => m[0])
      if (blocks.length === 0) throw invalid('body', 'must hold PEM certificates (-----BEGIN CERTIFICATE-----)')
      blocks.forEach((b, i) => {
        try {
          new X509Certificate(b)
        } catch {
          throw invalid('body', `certificate ${i + 1} cannot be parsed`)
        }
      })
      await ctx.store.callbacks.setWebhookCa(number.id, blocks.join('\n') + '\n')
      return ctx.ok()
    })

    pem.get('/v1/certificates/webhooks/ca', {
      config: { access: 'admin' },
      schema: { tags: ['certificates'], summary: 'The CA trusted for the webhook endpoint; 404 without a body if none' },
    }, async (request, reply) => {
      const number = await ctx.number(request)
      const ca = await ctx.store.callbacks.webhookCa(number.id)
      if (!ca) return reply.code(404).send()
      return reply.type('text/plain; charset=utf-8').send(ca)
    })

    pem.delete('/v1/certificates/webhooks/ca', {
      config: { access: 'admin' },
      schema: { tags: ['certificates'], summary: 'Stop trusting the uploaded webhook CA' },
    }, async (request) => {
      const number = await ctx.number(request)
      await ctx.store.callbacks.setWebhookCa(number.id, null)
      return ctx.ok()
    })
  })
}
