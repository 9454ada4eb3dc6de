import type { FastifyReply, FastifyRequest } from 'fastify'
import { CloudCode, WaboxError } from '../../errors/index.js'
import type { TenantOf } from '../../store/clients.js'
import type { WebContext } from '../context.js'
import { TtlCache } from '../ttl-cache.js'

/**
 * What the tenancy adds to every dialect's credentials: an API key or access token of a
 * suspended client is refused (403; its queued messages stay and go once it is resumed), and
 * all credentials of a client share its request ceiling. Errors are WaboxErrors, so each
 * dialect answers in its own format: On-Prem 1031 / 1015 (429), Graph 131031 / 80007.
 */
export class TenantGuard {
  // null (a credential outside the tenancy) is cached too, so such requests cost no query each
  readonly #tenants: TtlCache<TenantOf | null>

  constructor(private readonly ctx: WebContext) {
    const { store } = ctx
    this.#tenants = new TtlCache(ctx.deps.clock, ctx.limits.lookupCacheMs, async (key) =>
      (await (key.startsWith('waba:') ? store.clients.ofWaba(key.slice(5)) : store.clients.ofNumber(key.slice(7)))) ?? null)
  }

  /** A suspension or new limits apply to the very next request. */
  clear(): void {
    this.#tenants.clear()
  }

  /** The client a request's key or token belongs to; none for users, app tokens and credentials outside the tenancy. */
  async #tenantOf(request: FastifyRequest): Promise<TenantOf | null> {
    const p = request.principal
    if (p?.kind === 'token') return this.#tenants.get(`waba:${p.wabaId}`)
    if (p?.kind === 'key') return this.#tenants.get(`number:${p.phoneNumberId}`)
    return null
  }

  async check(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const tenant = await this.#tenantOf(request)
    if (!tenant) return
    if (tenant.status === 'suspended') {
      throw new WaboxError(CloudCode.ACCOUNT_LOCKED,
        'The client this credential belongs to is suspended by its partner: requests are refused until it is resumed; messages already queued are kept', { httpStatus: 403 })
    }
    const { requestsPerSecond, burst } = tenant.limits
    if (requestsPerSecond === null) return
    const rule = { perSecond: requestsPerSecond, burst: burst ?? requestsPerSecond * 3 }
    if (this.ctx.rateLimiter.take(rule, `client|${tenant.clientId}`)) return
    void reply.header('retry-after', '1')
    throw new WaboxError(CloudCode.RATE_LIMIT_ISSUES,
      `More than ${rule.perSecond} requests per second (bursts to ${rule.burst}) over all credentials of this client; retry after a second`)
  }
}

const guards = new WeakMap<WebContext, TenantGuard>()

/** The web app's one guard (its cache is shared by the hook and the Partner API that clears it). */
export function tenantGuard(ctx: WebContext): TenantGuard {
  let guard = guards.get(ctx)
  if (!guard) {
    guard = new TenantGuard(ctx)
    guards.set(ctx, guard)
  }
  return guard
}
