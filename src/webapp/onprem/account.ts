import { randomInt } from 'node:crypto'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { PhoneNumberRow } from '../../store/schema.js'
import { isDeploymentAdmin } from '../auth.js'
import type { WebContext } from '../context.js'
import { invalid } from '../errors.js'
import { refuseCloudToOnPrem } from '../services/registration.js'

const Register = Type.Object({
  cc: Type.String({ pattern: '^\\d{1,3}$', description: 'country calling code, digits' }),
  phone_number: Type.String({ pattern: '^\\d{4,14}$', description: 'national number, digits' }),
  method: Type.String({ description: 'sms or voice (any case)' }),
  cert: Type.String({ minLength: 1, description: 'vname certificate, base64' }),
  pin: Type.Optional(Type.String({ pattern: '^\\d{6}$', description: 'two-step PIN, if enabled' })),
  migrate: Type.Optional(Type.Boolean({ description: 'take the number over from another install that holds it on the network (wabox)' })),
})
const Verify = Type.Object({ code: Type.String({ pattern: '^\\d{6}$', description: 'the 6-digit code' }) })
const Shards = Type.Object({
  cc: Type.String({ pattern: '^\\d{1,3}$' }),
  phone_number: Type.String({ pattern: '^\\d{4,14}$' }),
  shards: Type.Unsafe<number>({ type: 'integer', enum: [1, 2, 4, 8, 16, 32] }),
  pin: Type.Optional(Type.String({ pattern: '^\\d{6}$' })),
})

/** Phone number ids look like Meta's: 15 digits, no leading zero. */
export function newPhoneNumberId(): string {
  return String(randomInt(1, 10)) + String(randomInt(0, 1e14)).padStart(14, '0')
}


export function accountRoutes(app: FastifyInstance, ctx: WebContext): void {
  const { store } = ctx

  /**
   * The number named by cc + phone_number. A key or bound user may only name its own number;
   * the deployment admin may register any number, which is created on first use.
   */
  const namedNumber = async (request: FastifyRequest, cc: string, phone: string, create: boolean): Promise<PhoneNumberRow> => {
    const waId = cc + phone
    if (!isDeploymentAdmin(request.principal)) {
      const own = await ctx.number(request)
      if (own.wa_id !== waId) throw invalid('phone_number', `these credentials act on +${own.wa_id}, not +${waId}`)
      return own
    }
    const existing = await store.numbers.getByWaId(waId)
    if (existing) return existing
    if (!create) throw invalid('phone_number', `+${waId} is not a number of this deployment`)
    return store.numbers.create({ id: newPhoneNumberId(), cc, number: phone, displayName: waId })
  }

  app.post<{ Body: Static<typeof Register> }>('/v1/account', {
    config: { access: 'admin' },
    schema: { tags: ['account'], summary: 'Request a registration code (201: already registered, 202: code sent)', body: Register },
  }, async (request, reply) => {
    const { cc, phone_number: phone, cert, pin, migrate } = request.body
    const method = request.body.method.toLowerCase()
    if (method !== 'sms' && method !== 'voice') throw invalid('method', 'must be "sms" or "voice"')
    if (!/^[A-Za-z0-9+/=_-]+$/.test(cert.replace(/\s/g, ''))) throw invalid('cert', 'must be the base64 vname certificate')
    const number = await namedNumber(request, cc, phone, true)
    refuseCloudToOnPrem(number)
    const result = await ctx.deps.bridge.requestCode(number.id, {
      cc, phoneNumber: phone, method, cert: cert.replace(/\s/g, ''), ...(pin ? { pin } : {}), ...(migrate ? { migrate } : {}),
    })
    if (result.status === 'already_registered') return reply.code(201).send(ctx.ok())
    return reply.code(202).send(ctx.ok({ account: [{ vname: result.vname }] }))
  })

  app.post<{ Body: Static<typeof Verify> }>('/v1/account/verify', {
    config: { access: 'admin' },
    schema: { tags: ['account'], summary: 'Complete registration with the received code', body: Verify },
  }, async (request, reply) => {
    let number: PhoneNumberRow | undefined
    if (isDeploymentAdmin(request.principal)) {
      // the number waiting for its code, most recent request first
      const pending = (await store.numbers.list()).filter((n) => n.status === 'pending').sort((a, b) => b.updated_at - a.updated_at)
      number = pending[0]
    }
    number ??= await ctx.number(request)
    await ctx.deps.bridge.verify(number.id, request.body.code)
    return reply.code(201).send(ctx.ok())
  })

  app.get('/v1/account/shards', {
    config: { access: 'admin' },
    schema: { tags: ['account'], summary: 'Shard count of the number (multiconnect)' },
  }, async (request) => {
    const number = await ctx.number(request)
    return ctx.ok({ account: { shards: number.shard_count } })
  })

  // shards are CoreApp capacity (leases, network connections) every number shares
  app.post<{ Body: Static<typeof Shards> }>('/v1/account/shards', {
    config: { access: 'deployment' },
    schema: { tags: ['account'], summary: 'Set the shard count (1, 2, 4, 8, 16 or 32); deployment admin only', body: Shards },
  }, async (request, reply) => {
    const { cc, phone_number: phone, shards, pin } = request.body
    const number = await namedNumber(request, cc, phone, false)
    await ctx.deps.bridge.setShards(number.id, shards, pin)
    return reply.code(201).send(ctx.ok())
  })
}
