import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { isObject } from '../../domain/message/fields.js'
import { OnPremCode, WaboxError } from '../../errors/index.js'
import { DEFAULT_ADMIN } from '../../store/users.js'
import { isDeploymentAdmin } from '../auth.js'
import type { WebContext } from '../context.js'
import { forbidden, invalid, notFound, unauthorized } from '../errors.js'

const SPECIALS = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'
const PASSWORD_RULE = `must be 8 to 64 characters with at least one digit, one upper-case letter, one lower-case letter and one of ${SPECIALS}`

/** The On-Prem password policy (onprem-api.md §1.1). */
export function checkPassword(field: string, password: unknown): string {
  if (typeof password !== 'string') throw invalid(field, 'must be a string')
  const ok = password.length >= 8 && password.length <= 64 && /\d/.test(password) && /[A-Z]/.test(password)
    && /[a-z]/.test(password) && [...password].some((ch) => SPECIALS.includes(ch))
  if (!ok) throw invalid(field, PASSWORD_RULE)
  return password
}

/** `YYYY-MM-DD HH:MM:SS+00:00`, the On-Prem `expires_after` format. */
export function onPremTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ') + '+00:00'
}

function basicCredentials(request: FastifyRequest): { username: string; password: string } {
  const auth = request.headers.authorization ?? ''
  const [scheme, value] = auth.split(' ', 2)
  if (scheme?.toLowerCase() !== 'basic' || !value) {
    throw unauthorized('Send the username and password as HTTP Basic credentials: Authorization: Basic base64(username:password)')
  }
  const decoded = Buffer.from(value, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) throw unauthorized('Malformed Basic credentials: expected base64(username:password)')
  // no user name holds NUL, and PostgreSQL cannot compare text with one
  if (decoded.slice(0, colon).includes('\0')) throw unauthorized('Invalid username or password')
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

const Username = Type.String({ minLength: 4, maxLength: 32, pattern: '^[A-Za-z0-9._@-]+$', description: '4–32 characters: letters, digits, . _ @ -' })
// the policy is checked by checkPassword, which states the whole rule in its error
const Password = Type.String({ description: PASSWORD_RULE })
const UserParams = Type.Object({ username: Type.String() })
const CreateUser = Type.Object({
  username: Username,
  password: Password,
  phone_number_id: Type.Optional(Type.String({ description: 'wabox: bind the user to one number (default: the deployment\'s default number)' })),
})
const UpdateUser = Type.Object({ password: Password })

export function usersRoutes(app: FastifyInstance, ctx: WebContext): void {
  const { store } = ctx

  app.post('/v1/users/login', {
    config: { access: 'login' },
    schema: {
      tags: ['users'],
      summary: 'Log in with Basic credentials; returns a bearer token valid 7 days',
      body: Type.Union([Type.Object({ new_password: Type.Optional(Type.String({ description: PASSWORD_RULE })) }), Type.Null()]),
    },
  }, async (request) => {
    const { username, password } = basicCredentials(request)
    const body = request.body
    const newPassword = isObject(body) && body.new_password !== undefined ? checkPassword('new_password', body.new_password) : undefined
    const user = await store.users.authenticate(username, password)
    if (!user) throw unauthorized('Invalid username or password')
    if (newPassword !== undefined) {
      if (newPassword === password) throw invalid('new_password', 'must differ from the current password')
      await store.users.setPassword(username, newPassword)
    } else if (!user.passwordChanged) {
      throw new WaboxError(OnPremCode.PASSWORD_CHANGE_REQUIRED,
        'The default password must be changed: log in again with the body {"new_password": "<new password>"}')
    }
    const token = await store.users.issueToken(username)
    return ctx.ok({ users: [{ token: token.token, expires_after: onPremTimestamp(token.expiresAt) }] })
  })

  app.post('/v1/users/logout', {
    config: { access: 'user' },
    schema: { tags: ['users'], summary: 'Revoke the bearer token used for this request' },
  }, async (request) => {
    const p = request.principal
    if (p?.kind === 'user') await store.users.revokeToken(p.token)
    return ctx.ok()
  })

  app.post<{ Body: Static<typeof CreateUser> }>('/v1/users', {
    config: { access: 'deployment' },
    schema: { tags: ['users'], summary: 'Create a user (deployment admin only)', body: CreateUser },
  }, async (request, reply) => {
    const { username, password, phone_number_id: numberId } = request.body
    checkPassword('password', password)
    if (numberId !== undefined && !(await store.numbers.get(numberId))) {
      throw invalid('phone_number_id', `no phone number with id '${numberId}'`)
    }
    const created = await store.users.create({ username, password, phoneNumberId: numberId ?? null })
    if (!created) throw new WaboxError(OnPremCode.INTERNAL_ERROR, 'Unable to create user. Already exist?', { httpStatus: 409 })
    return reply.code(201).send(ctx.ok({ users: [{ username }] }))
  })

  /** The deployment admin sees and changes everyone; other users (a bound admin too) only themselves. */
  const target = (request: FastifyRequest<{ Params: Static<typeof UserParams> }>): string => {
    const p = request.principal
    const { username } = request.params
    if (p?.kind === 'user' && !isDeploymentAdmin(p) && p.username !== username) {
      throw forbidden('Only the deployment admin (ROLE_ADMIN, not bound to a number) can read or change other users')
    }
    return username
  }

  app.get<{ Params: Static<typeof UserParams> }>('/v1/users/:username', {
    config: { access: 'user' },
    schema: { tags: ['users'], summary: 'Read a user', params: UserParams },
  }, async (request) => {
    const user = await store.users.get(target(request))
    if (!user) throw notFound(`No user named '${request.params.username}'`)
    const out: Record<string, string> = { ROLES: user.role, username: user.username }
    if (user.phoneNumberId) out.phone_number_id = user.phoneNumberId
    return ctx.ok({ users: [out] })
  })

  app.put<{ Params: Static<typeof UserParams>; Body: Static<typeof UpdateUser> }>('/v1/users/:username', {
    config: { access: 'user' },
    schema: { tags: ['users'], summary: 'Change a user\'s password', params: UserParams, body: UpdateUser },
  }, async (request) => {
    const username = target(request)
    checkPassword('password', request.body.password)
    if (!(await store.users.setPassword(username, request.body.password))) throw notFound(`No user named '${username}'`)
    return ctx.ok({ users: [{ username }] })
  })

  app.delete<{ Params: Static<typeof UserParams> }>('/v1/users/:username', {
    config: { access: 'deployment' },
    schema: { tags: ['users'], summary: 'Delete a user and revoke all of its tokens (deployment admin only)', params: UserParams },
  }, async (request) => {
    const { username } = request.params
    if (username === DEFAULT_ADMIN) throw forbidden('The admin account cannot be deleted')
    if (!(await store.users.delete(username))) throw notFound(`No user named '${username}'`)
    return ctx.ok({ users: [{ username }] })
  })
}
