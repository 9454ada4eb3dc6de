import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { httpStatusOf, WireFailure } from './wire-failure.js'

/** Error replies of the blob and control routes: `{error: {code, message}}` with codes from frames.ts. */
export function networkErrorHandler(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  if (err instanceof WireFailure) {
    void reply.status(httpStatusOf(err)).send({ error: { code: err.code, message: err.message } })
    return
  }
  const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500
  if (status >= 500) request.log.error({ err }, 'request failed')
  void reply.status(status).send({ error: { code: status >= 500 ? 'internal' : 'bad_request', message: status >= 500 ? 'internal error' : err.message } })
}
