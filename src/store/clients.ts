import { graphId, randomBase62 } from './graph-ids.js'
import type { StoreContext } from './store.js'
import type { ClientRow } from './tenancy-schema.js'

export type ClientStatus = 'active' | 'suspended'

export interface ClientLimits {
  /** Requests per second over all of the client's credentials; null = no ceiling. */
  requestsPerSecond: number | null
  burst: number | null
}

export interface ClientInfo {
  id: string
  partnerId: string
  name: string
  status: ClientStatus
  limits: ClientLimits
  createdAt: number
  updatedAt: number
}

/** What a request's credential reaches in the tenancy: the client whose status and limits apply. */
export interface TenantOf {
  clientId: string
  status: ClientStatus
  limits: ClientLimits
}

export interface ClientChange {
  name?: string
  status?: ClientStatus
  limits?: ClientLimits
}

export interface PartnerWaba {
  id: string
  name: string
  clientId: string
  dataLocalizationRegion: string | null
  createdAt: number
}

/**
 * A partner's clients and their WABAs. Every read and write names the partner, so one
 * partner's call can never reach another partner's rows.
 */
export class Clients {
  constructor(private readonly ctx: StoreContext) {}

  async create(partnerId: string, name: string, limits: ClientLimits = { requestsPerSecond: null, burst: null }): Promise<ClientInfo> {
    const now = this.ctx.clock.now()
    const id = 'cl_' + randomBase62(16)
    await this.ctx.db.insertInto('clients').values({
      id, partner_id: partnerId, name, status: 'active', requests_per_second: limits.requestsPerSecond, burst: limits.burst, created_at: now, updated_at: now,
    }).execute()
    return { id, partnerId, name, status: 'active', limits, createdAt: now, updatedAt: now }
  }

  async get(partnerId: string, id: string): Promise<ClientInfo | undefined> {
    const row = await this.ctx.db.selectFrom('clients').selectAll().where('partner_id', '=', partnerId).where('id', '=', id).executeTakeFirst()
    return row && toInfo(row)
  }

  async list(partnerId: string): Promise<ClientInfo[]> {
    const rows = await this.ctx.db.selectFrom('clients').selectAll().where('partner_id', '=', partnerId).orderBy('created_at').orderBy('id').execute()
    return rows.map(toInfo)
  }

  /** Changes a client of the partner; undefined when it has no such client. */
  async update(partnerId: string, id: string, change: ClientChange): Promise<ClientInfo | undefined> {
    const set = {
      updated_at: this.ctx.clock.now(),
      ...(change.name !== undefined ? { name: change.name } : {}),
      ...(change.status !== undefined ? { status: change.status } : {}),
      ...(change.limits !== undefined ? { requests_per_second: change.limits.requestsPerSecond, burst: change.limits.burst } : {}),
    }
    const result = await this.ctx.db.updateTable('clients').set(set).where('partner_id', '=', partnerId).where('id', '=', id).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1 ? this.get(partnerId, id) : undefined
  }

  /** A new WABA owned by the partner's client; undefined when the client is not the partner's. */
  async createWaba(partnerId: string, clientId: string, name: string, region: string | null = null): Promise<PartnerWaba | undefined> {
    if (!(await this.get(partnerId, clientId))) return undefined
    const id = graphId()
    const now = this.ctx.clock.now()
    await this.ctx.db.insertInto('wabas').values({
      id, name, app_id: null, webhook_override: null, created_at: now, client_id: clientId, data_localization_region: region,
    }).execute()
    return { id, name, clientId, dataLocalizationRegion: region, createdAt: now }
  }

  /** The partner's WABAs, of one client when `clientId` is given. */
  async wabas(partnerId: string, clientId?: string): Promise<PartnerWaba[]> {
    let q = this.ctx.db.selectFrom('wabas').innerJoin('clients', 'clients.id', 'wabas.client_id')
      .select(['wabas.id', 'wabas.name', 'wabas.client_id', 'wabas.data_localization_region', 'wabas.created_at'])
      .where('clients.partner_id', '=', partnerId)
    if (clientId !== undefined) q = q.where('clients.id', '=', clientId)
    const rows = await q.orderBy('wabas.created_at').orderBy('wabas.id').execute()
    return rows.map((r) => ({ id: r.id, name: r.name, clientId: r.client_id!, dataLocalizationRegion: r.data_localization_region, createdAt: r.created_at }))
  }

  /**
   * Puts an existing WABA under the partner's client: one outside the tenancy or already one of
   * the partner's. False when the client or the WABA is another partner's, or does not exist.
   */
  async assignWaba(partnerId: string, clientId: string, wabaId: string): Promise<boolean> {
    if (!(await this.get(partnerId, clientId))) return false
    const owner = await this.ctx.db.selectFrom('wabas').leftJoin('clients', 'clients.id', 'wabas.client_id')
      .select(['wabas.id', 'clients.partner_id']).where('wabas.id', '=', wabaId).executeTakeFirst()
    if (!owner || (owner.partner_id !== null && owner.partner_id !== partnerId)) return false
    await this.ctx.db.updateTable('wabas').set({ client_id: clientId }).where('id', '=', wabaId).execute()
    return true
  }

  /** Gives every WABA outside the tenancy to the client (first start of a deployment from before it). */
  async adoptOrphanWabas(clientId: string): Promise<number> {
    const result = await this.ctx.db.updateTable('wabas').set({ client_id: clientId }).where('client_id', 'is', null).executeTakeFirst()
    return Number(result.numUpdatedRows)
  }

  /** The client owning a WABA, for the suspension and ceiling of its tokens. */
  async ofWaba(wabaId: string): Promise<TenantOf | undefined> {
    const row = await this.ctx.db.selectFrom('clients').innerJoin('wabas', 'wabas.client_id', 'clients.id')
      .select(['clients.id', 'clients.status', 'clients.requests_per_second', 'clients.burst'])
      .where('wabas.id', '=', wabaId).executeTakeFirst()
    return row && tenant(row)
  }

  /** The client owning a number (through its WABA), for the suspension and ceiling of its keys. */
  async ofNumber(phoneNumberId: string): Promise<TenantOf | undefined> {
    const row = await this.ctx.db.selectFrom('clients').innerJoin('wabas', 'wabas.client_id', 'clients.id')
      .innerJoin('phone_numbers', 'phone_numbers.waba_id', 'wabas.id')
      .select(['clients.id', 'clients.status', 'clients.requests_per_second', 'clients.burst'])
      .where('phone_numbers.id', '=', phoneNumberId).executeTakeFirst()
    return row && tenant(row)
  }
}

function tenant(row: { id: string; status: string; requests_per_second: number | null; burst: number | null }): TenantOf {
  return { clientId: row.id, status: row.status as ClientStatus, limits: { requestsPerSecond: row.requests_per_second, burst: row.burst } }
}

function toInfo(row: ClientRow): ClientInfo {
  return {
    id: row.id, partnerId: row.partner_id, name: row.name, status: row.status as ClientStatus,
    limits: { requestsPerSecond: row.requests_per_second, burst: row.burst }, createdAt: row.created_at, updatedAt: row.updated_at,
  }
}
