import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachDatabase } from './helpers/databases.js'
import { createPartnerWorld, partnerAuth, type PartnerWorld } from './helpers/partner-world.js'

/** A route of the table: its path with `:params` and its methods. */
interface Route {
  path: string
  methods: string[]
}

/**
 * Every route the app serves, read from fastify's own table (`printRoutes`): each line is a
 * segment under its parent's path, with its methods. Adding a route adds it to this test.
 */
function routeTable(printed: string): Route[] {
  const routes: Route[] = []
  const stack: string[] = []
  for (const line of printed.split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?/.exec(line)
    if (!m) continue
    const depth = m[1]!.length / 4
    // a parametric node lists the names its routes gave the parameter (`:phone_number_id|:waba_id`): the first stands for all
    const path = (stack[depth - 1] ?? '') + m[2]!.replace(/(:[a-z_]+)(\|:[a-z_]+)+/g, '$1')
    stack[depth] = path
    stack.length = depth + 1
    if (m[3]) routes.push({ path, methods: m[3].split(', ').filter((x) => x !== 'HEAD' && x !== 'OPTIONS') })
  }
  return routes
}

/** The operator's console and the public documents are the deployment's, not a tenant's. */
const OUTSIDE_TENANCY = [/^\/hub/, /^\/docs/, /^\/metrics$/]

describeEachDatabase('tenancy isolation', (ctx) => {
  let w: PartnerWorld
  let routes: Route[]
  let keyA: string
  let adminKeyA: string
  let tokenA: string
  /** What only tenant B's objects hold: it may never appear in an answer to tenant A. */
  let secretsOfB: string[]
  /** Ids of tenant B's objects, put in every path parameter. */
  let idsOfB: string[]

  beforeAll(async () => {
    w = await createPartnerWorld(ctx())
    await w.app.ready()
    routes = routeTable(w.app.printRoutes({ commonPrefix: false }))
    keyA = w.keyA
    adminKeyA = await w.store.apiKeys.create(w.b.id, 'admin', 'admin A')
    tokenA = w.token
    const { store } = w
    await store.apiKeys.create(w.c.id, 'd360', 'key of B')
    await store.accessTokens.create(w.otherWabaId, ['whatsapp_business_messaging'], 'token of B')
    const media = await w.media.put(Buffer.from('%PDF-1.4 tenant B\n'), { phoneNumberId: w.c.id, mimeType: 'application/pdf', filename: 'b-invoice.pdf' })
    const [keyOfB] = await store.channels.apiKeys(w.c.id)
    const [tokenOfB] = await store.channels.tokens(w.otherWabaId)
    await store.audit.append({ partnerId: w.pb.partnerId, credentialId: w.pb.keyId, action: 'client.create', objectType: 'client', objectId: w.pb.client.id })
    secretsOfB = [w.c.wa_id, w.c.display_name, 'Partner B client', 'b-invoice.pdf']
    idsOfB = [w.c.id, w.otherWabaId, w.pb.client.id, media.id, keyOfB!.id, tokenOfB!.id, w.pb.keyId]
  })
  afterAll(async () => w.close())

  /** The credentials of tenant A a path takes: the partner key pair, the Graph token, 360dialog and On-Prem keys. */
  function credentialsFor(path: string): Record<string, string>[] {
    if (path.startsWith('/partner/')) return [{ authorization: partnerAuth(w.pa.keyId, w.pa.secret) }]
    if (path.startsWith('/v1/') || path === '/v1') return [{ 'd360-api-key': keyA }, { authorization: `Apikey ${adminKeyA}` }]
    return [{ authorization: `Bearer ${tokenA}` }, { 'd360-api-key': keyA }]
  }

  it('reads a route table that holds every dialect', () => {
    const paths = routes.map((r) => r.path)
    for (const p of ['/partner/v1/channels', '/v1/messages', '/:phone_number_id/messages', '/partner/v1/clients/:client_id/suspend']) expect(paths).toContain(p)
    expect(routes.length).toBeGreaterThan(60)
  })

  it("answers every route, called with tenant A's credentials on tenant B's objects, without B's data; a route naming one answers an error", async () => {
    const before = { client: await w.store.clients.get(w.pb.partnerId, w.pb.client.id), keys: await w.store.channels.apiKeys(w.c.id), tokens: await w.store.channels.tokens(w.otherWabaId) }
    const leaks: string[] = []
    let calls = 0
    for (const route of routes) {
      if (OUTSIDE_TENANCY.some((r) => r.test(route.path))) continue
      const params = route.path.match(/:[a-z_]+/g) ?? []
      const fillings = params.length === 0 ? [route.path] : idsOfB.map((id) => route.path.replace(/:[a-z_]+/g, id))
      // filters naming B's objects too (`GET /partner/v1/channels?client_id=…`)
      const filtered = idsOfB.map((id) => `${route.path.replace(/:[a-z_]+/g, idsOfB[0]!)}?client_id=${id}&waba_id=${id}&object_id=${id}`)
      for (const url of [...fillings, ...filtered]) {
        for (const method of route.methods) {
          if (url.includes('?') && method !== 'GET') continue
          for (const headers of credentialsFor(route.path)) {
            const res = await w.app.inject({ method: method as 'GET', url, headers, ...(method === 'GET' || method === 'DELETE' ? {} : { payload: {} }) })
            calls++
            const seen = secretsOfB.filter((s) => res.body.includes(s))
            const succeeded = params.length > 0 && !url.includes('?') && res.statusCode < 300
            if (seen.length > 0 || succeeded) leaks.push(`${method} ${url} [${Object.keys(headers).join()}] → ${res.statusCode} ${seen.join(', ')} ${res.body.slice(0, 200)}`)
          }
        }
      }
    }
    expect(calls).toBeGreaterThan(300)
    expect(leaks).toEqual([])
    // and nothing of B changed
    expect(await w.store.clients.get(w.pb.partnerId, w.pb.client.id)).toEqual(before.client)
    expect(await w.store.channels.apiKeys(w.c.id)).toEqual(before.keys)
    expect(await w.store.channels.tokens(w.otherWabaId)).toEqual(before.tokens)
  })
})
