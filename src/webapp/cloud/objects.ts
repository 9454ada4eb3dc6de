import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { unsupportedRequest } from './envelope.js'

export type GraphMethod = 'GET' | 'POST' | 'DELETE'

/** What one kind of object answers for `/{id}`; undefined when `id` is not one of its kind the caller can reach. */
export type ObjectHandler = (request: FastifyRequest<{ Params: { id: string } }>, id: string) => Promise<object | undefined>

/** A kind of Graph object a bare id may name (phone number, media, …) and the methods it takes. */
export interface GraphObjectKind {
  name: string
  handlers: Partial<Record<GraphMethod, ObjectHandler>>
}

const DOCS: Record<GraphMethod, string> = {
  GET: 'Read an object: a phone number (`?fields=` comma list) or a media object',
  POST: 'Update an object (e.g. a phone number\'s webhook_configuration)',
  DELETE: 'Delete an object (e.g. media)',
}

/**
 * A DELETE takes its parameters from the query string; SDKs (@great-detail/whatsapp) still send
 * `Content-Type: application/json` with no body, which Graph ignores: without a body, so does this.
 */
async function ignoreTypeOfNoBody(request: FastifyRequest): Promise<void> {
  const { headers } = request
  if (headers['transfer-encoding'] === undefined && (headers['content-length'] ?? '0') === '0') delete headers['content-type']
}

/**
 * `GET|POST|DELETE /{id}`: Graph names phone numbers, WABAs and media by a bare id, so one
 * route serves them all and asks each kind in turn. An id no kind claims for the caller is
 * Meta's "unsupported request", whether it does not exist or belongs to someone else.
 */
export class GraphObjects {
  readonly #kinds: GraphObjectKind[] = []

  add(kind: GraphObjectKind): void {
    this.#kinds.push(kind)
  }

  routes(app: FastifyInstance): void {
    for (const method of ['GET', 'POST', 'DELETE'] as const) {
      app.route<{ Params: { id: string } }>({
        method,
        url: '/:id',
        schema: { tags: ['cloud'], summary: DOCS[method], params: Type.Object({ id: Type.String() }) },
        ...(method === 'DELETE' ? { onRequest: ignoreTypeOfNoBody } : {}),
        handler: async (request) => {
          const { id } = request.params
          for (const kind of this.#kinds) {
            const answer = await kind.handlers[method]?.(request, id)
            if (answer !== undefined) return answer
          }
          throw unsupportedRequest(method, id)
        },
      })
    }
  }
}
