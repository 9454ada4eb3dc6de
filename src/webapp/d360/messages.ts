import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { WebContext } from '../context.js'
import { cloudMessage, throttle } from '../cloud/messages.js'

/** `POST /messages`: Meta's body and answer, for the number the key names. */
export function d360MessagesRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.post('/messages', {
    config: { keepCaches: true, d360: 'send its messages (POST /v1/messages)' },
    schema: {
      tags: ['360dialog'],
      summary: 'Send a message (Cloud API body: messaging_product, to or recipient, type, …), or mark one read ({status:"read", message_id})',
      body: Type.Object({ messaging_product: Type.Literal('whatsapp') }, { additionalProperties: true }),
    },
    // the schema documents; the Cloud dialect's validator validates, with precise codes
    validatorCompiler: () => () => true,
    // after the plugin's hook named the number, before the body is read: a full bucket costs nothing more
    onRequest: async (request, reply) => {
      await throttle(ctx, await ctx.number(request), reply)
    },
  }, async (request) => cloudMessage(ctx, await ctx.number(request), request.body))
}
