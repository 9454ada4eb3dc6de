import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import type { ClientInfo } from '../../src/store/clients.js'
import { createCloudTest, type CloudTest } from './cloud.js'
import type { TestDatabase } from './databases.js'

/** A partner with its key pair and a client. */
export interface Tenant {
  partnerId: string
  keyId: string
  secret: string
  client: ClientInfo
}

/**
 * Two partners over a Cloud test: partner A's client owns WABA `waba` (numbers a, Cloud, and b,
 * On-Premises), partner B's client owns WABA `other` (number c).
 */
export interface PartnerWorld extends CloudTest {
  pa: Tenant
  pb: Tenant
  /** A Partner API call with a tenant's key pair (or none). */
  partner(tenant: Tenant | null, opts: InjectOptions): Promise<LightMyRequestResponse>
}

export async function tenant(t: CloudTest, name: string, wabaId: string): Promise<Tenant> {
  const partner = await t.store.partners.create(name)
  const pair = await t.store.partners.createKey(partner.id, 'test')
  const client = await t.store.clients.create(partner.id, `${name} client`)
  if (!(await t.store.clients.assignWaba(partner.id, client.id, wabaId))) throw new Error(`WABA ${wabaId} not assigned`)
  return { partnerId: partner.id, keyId: pair.keyId, secret: pair.secret, client }
}

export function partnerAuth(keyId: string, secret: string): string {
  return 'Basic ' + Buffer.from(`${keyId}:${secret}`).toString('base64')
}

export async function createPartnerWorld(db: TestDatabase, overrides: Parameters<typeof createCloudTest>[1] = {}): Promise<PartnerWorld> {
  const t = await createCloudTest(db, overrides)
  const pa = await tenant(t, 'Partner A', t.wabaId)
  const pb = await tenant(t, 'Partner B', t.otherWabaId)
  const partner = (who: Tenant | null, opts: InjectOptions) => t.app.inject({
    ...opts, headers: { ...(who ? { authorization: partnerAuth(who.keyId, who.secret) } : {}), ...opts.headers },
  }) as Promise<LightMyRequestResponse>
  return { ...t, pa, pb, partner }
}
