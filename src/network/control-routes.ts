import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Account, Accounts } from './accounts.js'
import { waIdOf } from './accounts.js'
import { networkErrorHandler } from './http-errors.js'
import type { Integrity } from './integrity.js'
import type { Tier } from './options.js'
import type { Router } from './router.js'
import { isTemplateAction, type TemplateRegistry } from './templates.js'
import type { VnameIssuer } from './vname.js'
import { WireFailure } from './wire-failure.js'

export interface ControlDeps {
  accounts: Accounts
  vname: VnameIssuer
  integrity: Integrity
  templates: TemplateRegistry
  router: Router
}

export interface AccountView {
  waId: string
  cc: string
  phone: string
  business: boolean
  vname: string | null
  twoStep: boolean
  registeredAt: number
  /** Shards with a live connection. */
  connectedShards: number[]
}

type Body = Record<string, unknown> | undefined

/**
 * `onRequest` hook guarding every `/control/` URL (also routes others mount later) with
 * `Authorization: Bearer <token>`; without a token the control API is open (dev).
 */
export function controlAuthHook(token: string | undefined) {
  const expected = token === undefined ? undefined : createHash('sha256').update(token).digest()
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!expected || !request.url.startsWith('/control/')) return
    const header = request.headers.authorization ?? ''
    const given = createHash('sha256').update(header.startsWith('Bearer ') ? header.slice(7) : '').digest()
    if (!timingSafeEqual(given, expected)) {
      await reply.status(401).send({ error: { code: 'unauthorized', message: 'control API needs Authorization: Bearer <control token>' } })
    }
  }
}

/** The dev control API, mounted under `/control`. */
export function controlRoutes(deps: ControlDeps): FastifyPluginAsync {
  const { accounts, vname, integrity, templates, router } = deps
  const accountOr404 = (waId: string): Account => {
    const account = accounts.get(waId)
    if (!account) throw new WireFailure('not_found', `no account ${waId}`)
    return account
  }
  const view = (a: Account): AccountView => ({
    waId: a.waId,
    cc: a.cc,
    phone: a.phone,
    business: a.business,
    vname: a.vname,
    twoStep: a.pinHash !== null,
    registeredAt: a.registeredAt,
    connectedShards: router.connectionsOf(a.waId).map((c) => c.shard),
  })

  return async (app) => {
    app.setErrorHandler(networkErrorHandler)

    app.post<{ Body: Body }>('/vname-certificates', async (request) => {
      const { cc, phone, displayName } = request.body ?? {}
      if (typeof cc !== 'string' || typeof phone !== 'string') throw new WireFailure('bad_request', 'cc and phone are strings')
      waIdOf(cc, phone)
      if (typeof displayName !== 'string' || displayName.trim() === '' || displayName.length > 512) throw new WireFailure('bad_request', 'displayName is 1 to 512 characters')
      return { cert: Buffer.from(vname.issue(cc, phone, displayName)).toString('base64') }
    })

    app.get<{ Params: { cc: string; phone: string } }>('/codes/:cc/:phone', async (request) => {
      const code = await accounts.lastCode(request.params.cc, request.params.phone)
      if (code === undefined) throw new WireFailure('not_found', 'no code was requested for this number')
      return { code }
    })

    app.get('/accounts', async () => ({ accounts: accounts.list().map(view) }))

    app.get<{ Params: { waId: string } }>('/accounts/:waId', async (request) => view(accountOr404(request.params.waId)))

    app.get<{ Params: { waId: string } }>('/accounts/:waId/integrity', async (request) => integrity.state(accountOr404(request.params.waId)))

    app.put<{ Params: { waId: string }; Body: Body }>('/accounts/:waId/tier', async (request) => {
      const account = accountOr404(request.params.waId)
      const before = integrity.tierOf(account)
      await accounts.setTier(request.params.waId, String(request.body?.tier) as Tier)
      await integrity.tierSet(account, before)
      return integrity.state(account)
    })

    app.put<{ Params: { waId: string }; Body: Body }>('/accounts/:waId/portfolio', async (request) => {
      const account = accountOr404(request.params.waId)
      const portfolio = request.body?.portfolio
      if (!account.business) throw new WireFailure('bad_request', 'only business numbers belong to a portfolio')
      if (portfolio !== null && (typeof portfolio !== 'string' || !/^[\w.-]{1,64}$/.test(portfolio))) {
        throw new WireFailure('bad_request', 'portfolio is an id of 1 to 64 letters, digits, _ . -, or null for none')
      }
      await integrity.setPortfolio(account, portfolio)
      return { portfolio: integrity.portfolioOf(account.waId), ...(await integrity.state(account)) }
    })

    app.get<{ Params: { waId: string } }>('/accounts/:waId/templates', async (request) => templates.pack(accountOr404(request.params.waId)))

    app.post<{ Params: { waId: string }; Body: Body }>('/accounts/:waId/templates', async (request, reply) => {
      const created = await templates.create(accountOr404(request.params.waId), request.body)
      return reply.status(201).send(created)
    })

    app.get<{ Params: { id: string } }>('/templates/:id', async (request) => templates.get(request.params.id))

    app.patch<{ Params: { id: string }; Body: Body }>('/templates/:id', async (request) => templates.update(request.params.id, request.body ?? {}))

    app.delete<{ Params: { id: string } }>('/templates/:id', async (request, reply) => {
      await templates.delete(request.params.id)
      return reply.status(204).send()
    })

    app.post<{ Params: { id: string; action: string }; Body: Body }>('/templates/:id/:action', async (request) => {
      const { id, action } = request.params
      if (!isTemplateAction(action)) throw new WireFailure('not_found', `unknown template action ${action}`)
      const reason = request.body?.reason
      return templates.transition(id, action, typeof reason === 'string' ? reason : undefined)
    })
  }
}
