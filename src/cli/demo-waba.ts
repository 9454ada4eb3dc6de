import { ACCESS_TOKEN_SCOPES, type PlatformType } from '../domain/hosting.js'
import { randomToken } from '../ids.js'
import type { Store } from '../store/store.js'
import type { CloudCredentials, EarlierCredentials } from './credentials.js'

/** The Graph version the banner and credentials.json name; the Cloud dialect serves any version. */
export const CLOUD_API_VERSION = 'v23.0'

// Found again by name: a start that stopped between creating one and using it resumes with it.
const DEMO_WABA_NAME = 'wabox demo'
const DEMO_APP_NAME = 'wabox demo app'

export interface DemoWaba {
  wabaId: string
  appId: string
  appSecret: string
}

/**
 * The WABA both demo numbers belong to, and its app: the one the On-Prem number already
 * belongs to, else one an interrupted start created, else a new one (a data directory from
 * before Cloud hosting has none yet).
 */
export async function demoWaba(store: Store, onPremId: string): Promise<DemoWaba> {
  const attached = (await store.numbers.hosting(onPremId))?.wabaId
  const waba = (attached ? await store.wabas.get(attached) : undefined)
    ?? (await store.wabas.list()).find((w) => w.name === DEMO_WABA_NAME)
    ?? (await store.wabas.create({ name: DEMO_WABA_NAME }))
  let appId = waba.appId
  if (appId === null) {
    appId = (await store.apps.list()).find((a) => a.name === DEMO_APP_NAME)?.id ?? (await store.apps.create({ name: DEMO_APP_NAME })).id
    await store.wabas.setApp(waba.id, appId)
  }
  const appSecret = await store.apps.secret(appId)
  if (appSecret === undefined) throw new Error(`the demo WABA ${waba.id} names app ${appId}, which does not exist`)
  return { wabaId: waba.id, appId, appSecret }
}

/** Puts a number in the WABA on the platform given; nothing to write when it is there already. */
export async function attachNumber(store: Store, id: string, wabaId: string, platformType: PlatformType): Promise<void> {
  const hosting = await store.numbers.hosting(id)
  if (hosting?.wabaId === wabaId && hosting.platformType === platformType) return
  await store.numbers.setHosting(id, { wabaId, platformType })
}

/**
 * The `cloud` section of credentials.json. The access token is readable only when it is made,
 * so an earlier start's token of the same WABA is kept; a new one is made otherwise.
 */
export async function cloudCredentials(store: Store, waba: DemoWaba, cloudNumberId: string, baseUrl: string, earlier: EarlierCredentials | undefined): Promise<CloudCredentials> {
  const before = earlier?.cloud?.waba_id === waba.wabaId ? earlier.cloud : undefined
  return {
    base_url: baseUrl,
    api_version: CLOUD_API_VERSION,
    access_token: before?.access_token ?? (await store.accessTokens.create(waba.wabaId, ACCESS_TOKEN_SCOPES, 'demo')),
    app_id: waba.appId,
    app_secret: waba.appSecret,
    verify_token: before?.verify_token ?? randomToken(16),
    waba_id: waba.wabaId,
    phone_number_id: cloudNumberId,
  }
}
