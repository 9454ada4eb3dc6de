import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { OnPremCode, WaboxError } from '../../errors/index.js'
import { TOKEN_LIFETIME_MS } from '../../store/users.js'
import type { WebContext } from '../context.js'
import { forbidden, invalid, unauthorized } from '../errors.js'
import { checkPassword } from '../onprem/users.js'
import type { SessionStreams } from './events.js'

export const SESSION_COOKIE = 'wabox_hub'
/** Sign-in attempts per client address: a burst of 10, then one a second. */
const SIGN_IN_RATE = { perSecond: 1, burst: 10 }

/** The cookie value of `name` in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim())
  }
  return undefined
}

/**
 * `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page sends it), scoped to
 * `/hub/`, and `Secure` whenever the API is served over HTTPS (plain HTTP is loopback only).
 */
function sessionCookie(ctx: WebContext, value: string, maxAgeS: number): string {
  const secure = ctx.deps.https ? '; Secure' : ''
  return `${SESSION_COOKIE}=${encodeURIComponent(value)}; Path=/hub/; Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict${secure}`
}

/**
 * CSRF: besides SameSite=Strict, a request that changes anything must come from a page of this
 * very origin; browsers send `Origin` on every such fetch, so one without it is refused too.
 */
export function checkOrigin(request: FastifyRequest): void {
  if (request.method === 'GET' || request.method === 'HEAD') return
  const origin = request.headers.origin
  const own = `${request.protocol}://${request.headers.host ?? ''}`
  if (origin !== own) throw forbidden(`The Hub accepts changes only from its own pages (Origin ${own}); got ${origin ? `Origin ${origin}` : 'no Origin'}`)
}

/** The deployment admin behind the session cookie, or 401. */
export async function requireSession(ctx: WebContext, request: FastifyRequest): Promise<string> {
  const token = cookieValue(request.headers.cookie, SESSION_COOKIE)
  const user = token ? await ctx.store.users.verifyToken(token) : undefined
  if (!user || user.role !== 'ROLE_ADMIN' || user.phoneNumberId !== null) throw unauthorized('Sign in to the Hub first')
  return user.username
}

interface LoginBody {
  username?: unknown
  password?: unknown
  newPassword?: unknown
}

function text(body: LoginBody, field: keyof LoginBody): string {
  const value = body[field]
  if (typeof value !== 'string' || value === '') throw invalid(field, 'must be a non-empty string')
  return value
}

/** Sign in (with the password change On-Prem requires at first login), who am I, sign out. */
export function sessionRoutes(app: FastifyInstance, ctx: WebContext, streams: SessionStreams): void {
  const { users } = ctx.store
  const hide = { hide: true }

  app.post<{ Body: LoginBody }>('/hub/api/session', { schema: hide }, async (request, reply: FastifyReply) => {
    // each attempt costs a scrypt hash: a client guessing passwords is slowed down, not the server
    if (!ctx.rateLimiter.take(SIGN_IN_RATE, `hub-sign-in|${request.ip}`)) {
      void reply.header('retry-after', '1')
      throw new WaboxError(OnPremCode.TOO_MANY_REQUESTS, 'Too many sign-in attempts from this address; wait a moment and retry')
    }
    const body = request.body ?? {}
    const username = text(body, 'username')
    const password = text(body, 'password')
    const newPassword = body.newPassword === undefined ? undefined : checkPassword('newPassword', body.newPassword)
    const user = await users.authenticate(username, password)
    if (!user) throw unauthorized('Wrong username or password')
    if (user.role !== 'ROLE_ADMIN' || user.phoneNumberId !== null) {
      throw forbidden('The Hub is for the deployment admin (ROLE_ADMIN, not bound to a number)')
    }
    if (newPassword !== undefined) {
      if (newPassword === password) throw invalid('newPassword', 'must differ from the current password')
      await users.setPassword(username, newPassword)
    } else if (!user.passwordChanged) {
      throw new WaboxError(OnPremCode.PASSWORD_CHANGE_REQUIRED, 'The default password must be changed before the first sign-in: choose a new one')
    }
    const { token } = await users.issueToken(username)
    void reply.header('set-cookie', sessionCookie(ctx, token, Math.floor(TOKEN_LIFETIME_MS / 1000)))
    return { username }
  })

  app.get('/hub/api/session', { schema: hide }, async (request) => ({ username: await requireSession(ctx, request) }))

  app.delete('/hub/api/session', { schema: hide }, async (request, reply) => {
    const token = cookieValue(request.headers.cookie, SESSION_COOKIE)
    if (token) {
      await users.revokeToken(token)
      // the session's open pages (other tabs too) stop hearing of changes
      streams.end(token)
    }
    void reply.header('set-cookie', sessionCookie(ctx, '', 0))
    return { username: null }
  })
}
