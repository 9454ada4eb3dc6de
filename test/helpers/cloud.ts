import type { LightMyRequestResponse } from 'fastify'
import type { PhoneNumberRow } from '../../src/store/schema.js'
import type { TestDatabase } from './databases.js'
import { addNumber, createWebTest, type WebTest } from './webapp.js'

/**
 * A web app with Cloud accounts: WABA `waba` holds number `a` (Cloud-hosted) and `b`
 * (On-Premises, as `wabox start`'s demo pair); WABA `other` holds Cloud number `c`.
 */
export interface CloudTest extends WebTest {
  wabaId: string
  otherWabaId: string
  c: PhoneNumberRow
  /** Both scopes, WABA `waba`. */
  token: string
  /** `whatsapp_business_messaging` only. */
  messagingToken: string
  /** `whatsapp_business_management` only. */
  managementToken: string
  /** Both scopes, WABA `other`. */
  otherToken: string
}

export async function createCloudTest(db: TestDatabase, overrides: Parameters<typeof createWebTest>[1] = {}): Promise<CloudTest> {
  const t = await createWebTest(db, overrides)
  const { store } = t
  const waba = await store.wabas.create({ name: 'Acme' })
  const other = await store.wabas.create({ name: 'Other' })
  await store.numbers.setHosting(t.a.id, { wabaId: waba.id, platformType: 'CLOUD_API' })
  await store.numbers.setHosting(t.b.id, { wabaId: waba.id })
  const c = await addNumber(store, `300${t.a.id.slice(3)}`, '49', `151${t.a.id.slice(3)}3`)
  await store.numbers.setHosting(c.id, { wabaId: other.id, platformType: 'CLOUD_API' })
  const both = ['whatsapp_business_messaging', 'whatsapp_business_management'] as const
  return {
    ...t,
    a: (await store.numbers.get(t.a.id))!,
    b: (await store.numbers.get(t.b.id))!,
    c: (await store.numbers.get(c.id))!,
    wabaId: waba.id,
    otherWabaId: other.id,
    token: await store.accessTokens.create(waba.id, both, 'both'),
    messagingToken: await store.accessTokens.create(waba.id, ['whatsapp_business_messaging'], 'messaging'),
    managementToken: await store.accessTokens.create(waba.id, ['whatsapp_business_management'], 'management'),
    otherToken: await store.accessTokens.create(other.id, both, 'other'),
  }
}

/** The Graph error of a response, after checking it is one. */
export function graphError(res: LightMyRequestResponse): { message: string; type: string; code: number; error_subcode?: number; error_data: { messaging_product: string; details: string }; fbtrace_id: string } {
  const body = res.json() as { error?: ReturnType<typeof graphError> }
  if (!body.error) throw new Error(`expected a Graph error, got ${res.statusCode} ${res.body}`)
  return body.error
}
