import type { FastifyRequest } from 'fastify'
import { CloudCode, WaboxError } from '../../errors/index.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'
import { requireCloudHosted } from '../cloud/auth.js'
import { invalidToken } from '../cloud/envelope.js'

const MISSING = 'Invalid api_key: send D360-API-KEY: <key> (the API key of a Cloud-hosted number; `wabox keys create`)'
const UNKNOWN = 'Invalid api_key: the D360-API-KEY is unknown or was revoked (`wabox keys list` shows the keys of a number)'

/**
 * Identifies a waba-v2 request: its `D360-API-KEY` names the number (no id in the path). A
 * missing, unknown or revoked key is 190 with HTTP 401, as 360dialog answers "Invalid api_key";
 * a monitoring key is 10 / 403; a key of an On-Premises number is told to use `/v1`.
 * Sets `request.principal` and `request.phoneNumberId`; answers the number.
 */
export async function identifyKey(ctx: WebContext, request: FastifyRequest, what: string): Promise<PhoneNumberRow> {
  const header = request.headers['d360-api-key']
  const secret = typeof header === 'string' ? header.trim() : ''
  if (!secret) {
    const bearer = request.headers.authorization !== undefined
    throw invalidToken(bearer ? `${MISSING}; these root paths (360dialog's waba-v2) take no Authorization header, Graph paths do` : MISSING)
  }
  const key = await ctx.apiKeys.get(secret)
  if (!key) throw invalidToken(UNKNOWN)
  if (key.scope === 'monitoring') {
    throw new WaboxError(CloudCode.PERMISSION_DENIED, "An API key of scope 'monitoring' may only call health, metrics and stats; use the number's d360 key")
  }
  request.principal = { kind: 'key', scope: key.scope, phoneNumberId: key.phoneNumberId, label: key.label }
  request.phoneNumberId = key.phoneNumberId
  const number = await ctx.number(request)
  requireCloudHosted(number, what)
  return number
}
