import type { ClientChange, ClientInfo, ClientLimits, PartnerWaba } from '../../store/clients.js'
import type { Store } from '../../store/store.js'
import { regionName, REGION_NAME_RULE } from '../../config/regions.js'
import { notFound, PartnerRefusal, type PartnerActor } from './partner-refusal.js'

/** What a change through the Partner API needs: the store and what to tell when it changed. */
export interface PartnerDeps {
  store: Store
  /** Called after a change that credentials' caches may hold (suspension, limits, keys). */
  changed?: () => void
  /** The main media volume's root: a region change moves the files a number stored there before its WABA had a region. */
  homeMediaRoot?: string
}

const NAME_MAX = 200

function checkedName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > NAME_MAX) {
    throw new PartnerRefusal('invalid_request', `'${field}' must be a non-empty string of at most ${NAME_MAX} characters`)
  }
  return name.trim()
}

/** `requests_per_second` and `burst`: positive integers, or null for no ceiling; burst defaults to three seconds' worth. */
export function checkedLimits(raw: unknown): ClientLimits {
  if (raw === null || raw === undefined) return { requestsPerSecond: null, burst: null }
  if (typeof raw !== 'object') throw new PartnerRefusal('invalid_request', "'limits' must be an object {requests_per_second, burst}")
  const { requests_per_second: rps, burst } = raw as Record<string, unknown>
  const positive = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 1_000_000
  if (rps !== null && rps !== undefined && !positive(rps)) throw new PartnerRefusal('invalid_request', "'limits.requests_per_second' must be a positive integer or null")
  if (burst !== null && burst !== undefined && !positive(burst)) throw new PartnerRefusal('invalid_request', "'limits.burst' must be a positive integer or null")
  const perSecond = (rps as number | null | undefined) ?? null
  return { requestsPerSecond: perSecond, burst: perSecond === null ? null : ((burst as number | null | undefined) ?? perSecond * 3) }
}

export async function createClient(deps: PartnerDeps, actor: PartnerActor, input: { name: unknown; limits?: unknown }): Promise<ClientInfo> {
  const client = await deps.store.clients.create(actor.partnerId, checkedName(input.name), checkedLimits(input.limits))
  await audit(deps, actor, 'client.create', 'client', client.id, client.id, { name: client.name, limits: client.limits })
  return client
}

export async function getClient(deps: PartnerDeps, actor: PartnerActor, id: string): Promise<ClientInfo> {
  const client = await deps.store.clients.get(actor.partnerId, id)
  if (!client) throw notFound('client', id)
  return client
}

export function listClients(deps: PartnerDeps, actor: PartnerActor): Promise<ClientInfo[]> {
  return deps.store.clients.list(actor.partnerId)
}

/** Renames a client, changes its limits, suspends or resumes it. */
export async function updateClient(deps: PartnerDeps, actor: PartnerActor, id: string, input: { name?: unknown; limits?: unknown; status?: unknown }): Promise<ClientInfo> {
  const change: ClientChange = {}
  if (input.name !== undefined) change.name = checkedName(input.name)
  if (input.limits !== undefined) change.limits = checkedLimits(input.limits)
  if (input.status !== undefined) {
    if (input.status !== 'active' && input.status !== 'suspended') throw new PartnerRefusal('invalid_request', "'status' must be 'active' or 'suspended'")
    change.status = input.status
  }
  const client = await deps.store.clients.update(actor.partnerId, id, change)
  if (!client) throw notFound('client', id)
  const action = change.status === 'suspended' ? 'client.suspend' : change.status === 'active' ? 'client.resume' : 'client.update'
  await audit(deps, actor, action, 'client', id, id, { ...(change.name ? { name: change.name } : {}), ...(change.limits ? { limits: change.limits } : {}) })
  deps.changed?.()
  return client
}

/** A region this deployment configures (stored upper-case), or null; any other value is refused naming the configured ones. */
export function checkedRegion(deps: PartnerDeps, raw: unknown): string | null {
  if (raw === null || raw === undefined) return null
  const region = regionName(raw)
  if (!region) throw new PartnerRefusal('invalid_request', `'data_localization_region' must be a region name (${REGION_NAME_RULE}) or null`)
  const configured = deps.store.ctx.regions?.names ?? []
  if (!configured.includes(region)) {
    throw new PartnerRefusal('invalid_request', `region ${region} is not configured in this deployment (configured regions: ${configured.join(', ') || 'none'}); the operator adds one with --region ${region}=LOCATION`)
  }
  return region
}

export async function createWaba(deps: PartnerDeps, actor: PartnerActor, clientId: string, input: { name: unknown; data_localization_region?: unknown }): Promise<PartnerWaba> {
  const region = checkedRegion(deps, input.data_localization_region)
  const waba = await deps.store.clients.createWaba(actor.partnerId, clientId, checkedName(input.name), region)
  if (!waba) throw notFound('client', clientId)
  await audit(deps, actor, 'waba.create', 'waba', waba.id, clientId, { name: waba.name, data_localization_region: region })
  return waba
}

export async function listWabas(deps: PartnerDeps, actor: PartnerActor, clientId?: string): Promise<PartnerWaba[]> {
  if (clientId !== undefined) await getClient(deps, actor, clientId)
  return deps.store.clients.wabas(actor.partnerId, clientId)
}

/** A WABA of the partner, or 404 as if it did not exist. */
export async function partnerWaba(deps: PartnerDeps, actor: PartnerActor, wabaId: string): Promise<PartnerWaba> {
  const waba = (await deps.store.clients.wabas(actor.partnerId)).find((w) => w.id === wabaId)
  if (!waba) throw notFound('WABA', wabaId)
  return waba
}

/** Appends to the audit log: who did what to which object (no secrets in `detail`). */
export function audit(deps: PartnerDeps, actor: PartnerActor, action: string, objectType: string, objectId: string, clientId: string | null, detail?: Record<string, unknown>): Promise<void> {
  return deps.store.audit.append({ partnerId: actor.partnerId, clientId, credentialId: actor.credentialId, action, objectType, objectId, sourceIp: actor.sourceIp, ...(detail ? { detail } : {}) })
}
