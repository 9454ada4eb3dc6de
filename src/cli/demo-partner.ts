import type { Store } from '../store/store.js'
import type { EarlierCredentials, PartnerCredentials } from './credentials.js'

// Found again by name: a start that stopped between creating one and using it resumes with it.
const DEFAULT_PARTNER_NAME = 'wabox default partner'
const DEFAULT_CLIENT_NAME = 'wabox default client'

/**
 * The `partner` section of credentials.json: the deployment's default partner and client, which
 * own every WABA outside the tenancy (the demo WABA, and those of a data directory from before
 * it). The secret is readable only when it is made, so an earlier start's pair is kept while
 * it still works; a new pair is made otherwise.
 */
export async function partnerCredentials(store: Store, apiUrl: string, earlier: EarlierCredentials | undefined): Promise<PartnerCredentials> {
  const partner = (await store.partners.list()).find((p) => p.name === DEFAULT_PARTNER_NAME) ?? (await store.partners.create(DEFAULT_PARTNER_NAME))
  const client = (await store.clients.list(partner.id)).find((c) => c.name === DEFAULT_CLIENT_NAME)
    ?? (await store.clients.create(partner.id, DEFAULT_CLIENT_NAME))
  await store.clients.adoptOrphanWabas(client.id)
  const before = earlier?.partner
  const kept = before?.key_id && before.secret ? await store.partners.verify(before.key_id, before.secret) : undefined
  const pair = kept?.partnerId === partner.id ? { keyId: before!.key_id!, secret: before!.secret! } : await store.partners.createKey(partner.id, 'wabox start')
  return { base_url: `${apiUrl}/partner/v1`, key_id: pair.keyId, secret: pair.secret }
}
