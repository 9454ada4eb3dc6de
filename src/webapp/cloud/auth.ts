import type { FastifyRequest } from 'fastify'
import type { AccessTokenScope } from '../../domain/hosting.js'
import { CloudCode, WaboxError } from '../../errors/index.js'
import type { AccessTokenInfo } from '../../store/access-tokens.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { GraphPrincipal } from '../auth.js'
import type { WebContext } from '../context.js'
import { TtlCache } from '../ttl-cache.js'
import { invalidToken, unsupportedRequest } from './envelope.js'

export type { GraphPrincipal } from '../auth.js'

const MISSING = 'Missing access token: send Authorization: Bearer <access token> (create one with `wabox tokens create`)'
const UNKNOWN = 'Invalid OAuth access token: it is unknown or was revoked (`wabox tokens list` shows the tokens of a WABA)'

/** The token of `Authorization: Bearer …`, else of the `access_token` query parameter Graph also takes. */
function tokenOf(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization
  if (auth !== undefined) {
    const [scheme, ...rest] = auth.trim().split(/\s+/)
    return scheme?.toLowerCase() === 'bearer' ? rest.join(' ') : undefined
  }
  const query = request.query as Record<string, unknown> | undefined
  const param = query?.access_token
  return typeof param === 'string' ? param : undefined
}

/** Meta's app access token, `<app_id>|<app_secret>` (system-user tokens never hold a `|`). */
const APP_TOKEN = /^\d{1,32}\|/

/**
 * Who a Graph request acts as. A system-user token reaches every number of its WABA with its
 * scopes; an app token reaches the app's own subscriptions. Tokens are cached for the lookup
 * interval, so a revocation (`wabox tokens revoke`) applies within it.
 */
export class CloudAuth {
  readonly #tokens: TtlCache<AccessTokenInfo | undefined>

  constructor(private readonly ctx: WebContext) {
    this.#tokens = new TtlCache(ctx.deps.clock, ctx.limits.lookupCacheMs, (token) => ctx.store.accessTokens.verify(token))
  }

  /** Sets `request.principal`; 190 with HTTP 401 for a missing, unknown or revoked token. */
  async identify(request: FastifyRequest): Promise<GraphPrincipal> {
    const token = tokenOf(request)
    if (!token) throw invalidToken(request.headers.authorization === undefined ? MISSING : `${MISSING}; other schemes are not accepted here`)
    let principal: GraphPrincipal | undefined
    if (APP_TOKEN.test(token)) {
      const app = await this.ctx.store.accessTokens.verifyApp(token)
      if (app) principal = { kind: 'app', appId: app.appId }
    } else {
      const info = await this.#tokens.get(token)
      if (info) principal = { kind: 'token', wabaId: info.wabaId, scopes: info.scopes, label: info.label }
    }
    if (!principal) throw invalidToken(UNKNOWN)
    request.principal = principal
    return principal
  }
}

/** The Graph principal of a request the plugin's hook identified. */
export function graphPrincipal(request: FastifyRequest): GraphPrincipal {
  const p = request.principal
  if (p?.kind !== 'token' && p?.kind !== 'app') throw invalidToken(MISSING)
  return p
}

/** 10 with HTTP 403 unless the token carries `scope`. */
export function requireScope(p: Extract<GraphPrincipal, { kind: 'token' }>, scope: AccessTokenScope): void {
  if (!p.scopes.includes(scope)) {
    throw new WaboxError(CloudCode.PERMISSION_DENIED,
      `This access token lacks the ${scope} permission this endpoint needs (it has ${p.scopes.join(', ')}); create one with \`wabox tokens create --scopes ${scope}\``)
  }
}

/**
 * The number `id` as the caller may use it: one of its token's WABA, with one of `scopes`.
 * Anything else is Meta's "unsupported request" (100, HTTP 400), so a number of another WABA
 * looks exactly like one that does not exist. Sets `request.phoneNumberId`.
 */
export async function numberInReach(ctx: WebContext, request: FastifyRequest, id: string, scopes: readonly AccessTokenScope[]): Promise<PhoneNumberRow> {
  const p = graphPrincipal(request)
  const number = p.kind === 'token' ? await ctx.numberById(id) : undefined
  if (p.kind !== 'token' || !number || number.waba_id !== p.wabaId) throw unsupportedRequest(request.method, id)
  if (!scopes.some((s) => p.scopes.includes(s))) requireScope(p, scopes[0]!)
  request.phoneNumberId = number.id
  return number
}

/**
 * Messages and media of an On-Premises number go through `/v1`. Code 100 as Meta answers an
 * object that does not support the operation (not 133010 "not registered": the number is
 * registered, on the other platform).
 */
export function requireCloudHosted(number: PhoneNumberRow, what: string): void {
  if (number.platform_type === 'CLOUD_API') return
  throw new WaboxError(CloudCode.INVALID_PARAMETER,
    `Phone number ${number.id} is hosted On-Premises (platform_type ${number.platform_type}): ${what} with the On-Premises API under /v1 and the number's API key`)
}
