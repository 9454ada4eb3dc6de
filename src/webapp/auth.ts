import type { FastifyRequest } from 'fastify'
import type { AccessTokenScope } from '../domain/hosting.js'
import type { ApiKeyScope } from '../store/api-keys.js'
import type { Role } from '../store/users.js'
import type { WebContext } from './context.js'
import { forbidden, unauthorized } from './errors.js'

/**
 * Who may call a route:
 * - `public`: anyone (`/docs`); `login`: the handler checks Basic credentials itself
 * - `user`: any Bearer user (own account, logout)
 * - `deployment`: the deployment admin only (certificates, shards, support, user management):
 *   what it changes or shows is shared by every number, so no credential bound to one number may use it
 * - `number`: Bearer users and keys of scope d360/admin (messages, media, contacts, profiles, webhook config)
 * - `admin`: Bearer ROLE_ADMIN and admin-scope keys (settings, registration, webhook CA of the number)
 * - `health`: any user or key; `monitoring`: users and admin/monitoring keys (metrics, stats)
 */
export type Access = 'public' | 'login' | 'user' | 'deployment' | 'number' | 'admin' | 'health' | 'monitoring'

export type Principal =
  | { kind: 'user'; username: string; role: Role; boundNumber: string | null; token: string }
  | { kind: 'key'; scope: ApiKeyScope; phoneNumberId: string; label: string }

/**
 * A Cloud API caller: a system-user access token, which reaches every number of its WABA, or
 * Meta's app access token `<app_id>|<app_secret>` (app webhook subscriptions).
 */
export type GraphPrincipal =
  | { kind: 'token'; wabaId: string; scopes: readonly AccessTokenScope[]; label: string }
  | { kind: 'app'; appId: string }

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access
  }
  interface FastifyRequest {
    principal: Principal | GraphPrincipal | null
    /** The number the caller acts on (null when it has none or the route needs none). */
    phoneNumberId: string | null
  }
}

type Credentials = { kind: 'bearer' | 'key'; secret: string } | { kind: 'basic' } | undefined

function credentials(request: FastifyRequest): Credentials {
  const d360 = request.headers['d360-api-key']
  if (typeof d360 === 'string' && d360.trim()) return { kind: 'key', secret: d360.trim() }
  const auth = request.headers.authorization
  if (!auth) return undefined
  const space = auth.indexOf(' ')
  const scheme = (space < 0 ? auth : auth.slice(0, space)).toLowerCase()
  const secret = space < 0 ? '' : auth.slice(space + 1).trim()
  if (scheme === 'bearer') return { kind: 'bearer', secret }
  if (scheme === 'apikey') return { kind: 'key', secret }
  if (scheme === 'basic') return { kind: 'basic' }
  return undefined
}

const MISSING = 'Missing credentials: send Authorization: Bearer <token> (from POST /v1/users/login), Authorization: Apikey <key> or D360-API-KEY: <key>'

async function identify(request: FastifyRequest, ctx: WebContext): Promise<Principal> {
  const cred = credentials(request)
  if (!cred) throw unauthorized(MISSING)
  if (cred.kind === 'basic') throw unauthorized('Basic credentials are accepted by POST /v1/users/login only; use the bearer token it returns')
  if (cred.kind === 'bearer') {
    const user = cred.secret ? await ctx.store.users.verifyToken(cred.secret) : undefined
    if (!user) throw unauthorized('Invalid or expired token; log in again with POST /v1/users/login')
    return { kind: 'user', username: user.username, role: user.role, boundNumber: user.phoneNumberId, token: cred.secret }
  }
  const key = await ctx.apiKeys.get(cred.secret)
  if (!key) throw unauthorized('Invalid api_key')
  return { kind: 'key', scope: key.scope, phoneNumberId: key.phoneNumberId, label: key.label }
}

/** A Bearer user with ROLE_ADMIN bound to no number: the one credential over the whole deployment. */
export function isDeploymentAdmin(p: Principal | GraphPrincipal | null): boolean {
  return p?.kind === 'user' && p.role === 'ROLE_ADMIN' && p.boundNumber === null
}

const DEPLOYMENT_ONLY = 'This endpoint acts on the whole deployment and needs the deployment admin: '
  + 'a Bearer token of a ROLE_ADMIN user not bound to a number (POST /v1/users/login as admin)'

/** Throws 403 / 1005 unless the principal may use a route of this access class. */
export function authorize(p: Principal, access: Access): void {
  if (access === 'health') return
  if (access === 'deployment') {
    if (isDeploymentAdmin(p)) return
    const who = p.kind === 'key' ? 'an API key (D360-API-KEY or Apikey), which is bound to one number'
      : p.boundNumber ? `user '${p.username}', who is bound to number ${p.boundNumber}` : `user '${p.username}', who is not ROLE_ADMIN`
    throw forbidden(`${DEPLOYMENT_ONLY}; not ${who}`)
  }
  if (p.kind === 'user') {
    if (access === 'admin' && p.role !== 'ROLE_ADMIN') throw forbidden('This endpoint requires the admin account (ROLE_ADMIN)')
    return
  }
  if (access === 'user') throw forbidden('User accounts need a Bearer token of a user, not an API key')
  const allowed: Record<ApiKeyScope, Access[]> = {
    d360: ['number'],
    admin: ['number', 'admin', 'monitoring'],
    monitoring: ['monitoring'],
  }
  if (allowed[p.scope].includes(access)) return
  if (p.scope === 'd360') throw forbidden('This endpoint is restricted and not available with a D360-API-KEY')
  throw forbidden(`An API key of scope '${p.scope}' may only call health, metrics and stats`)
}

/** The number a principal acts on: a key's number, a bound user's number, else the default number. */
async function numberFor(p: Principal, ctx: WebContext): Promise<string | null> {
  if (p.kind === 'key') return p.phoneNumberId
  if (p.boundNumber) return p.boundNumber
  return (await ctx.store.users.defaultPhoneNumberId()) ?? null
}

/**
 * The number an API key in the request belongs to, whether or not it may call the route: an
 * error on a path both platforms share is answered in its number's format even when the key
 * was refused.
 */
export async function keyNumberOf(request: FastifyRequest, ctx: WebContext): Promise<string | null> {
  const cred = credentials(request)
  if (cred?.kind !== 'key' || !cred.secret) return null
  return (await ctx.apiKeys.get(cred.secret))?.phoneNumberId ?? null
}

/** Authenticates and authorises a request; sets `principal` and `phoneNumberId`. */
export async function authenticate(request: FastifyRequest, access: Access, ctx: WebContext): Promise<void> {
  if (access === 'public' || access === 'login') return
  const principal = await identify(request, ctx)
  authorize(principal, access)
  request.principal = principal
  if (access !== 'user') request.phoneNumberId = await numberFor(principal, ctx)
}
