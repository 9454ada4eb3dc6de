import type { StoreContext } from './store.js'
import type { AuditRow } from './tenancy-schema.js'

export interface AuditEntry {
  partnerId: string
  clientId?: string | null
  /** The credential's public id or label, never its secret. */
  credentialId: string
  action: string
  objectType: string
  objectId: string
  sourceIp?: string | null
  detail?: Record<string, unknown>
}

export interface AuditRecord extends Required<Omit<AuditEntry, 'detail'>> {
  seq: number
  detail: Record<string, unknown> | null
  at: number
}

export interface AuditFilter {
  clientId?: string
  action?: string
  objectType?: string
  objectId?: string
  since?: number
  until?: number
  /** Entries after this seq (paging). */
  after?: number
  limit: number
}

/** The audit log: append and read, never update or delete. Reads are scoped by partner. */
export class AuditLog {
  constructor(private readonly ctx: StoreContext) {}

  async append(e: AuditEntry): Promise<void> {
    await this.ctx.db.insertInto('audit_log').values({
      partner_id: e.partnerId, client_id: e.clientId ?? null, credential_id: e.credentialId, action: e.action,
      object_type: e.objectType, object_id: e.objectId, source_ip: e.sourceIp ?? null,
      detail: e.detail ? JSON.stringify(e.detail) : null, at: this.ctx.clock.now(),
    }).execute()
  }

  /** The partner's entries matching `f`, oldest first. */
  async list(partnerId: string, f: AuditFilter): Promise<AuditRecord[]> {
    let q = this.ctx.db.selectFrom('audit_log').selectAll().where('partner_id', '=', partnerId)
    if (f.clientId !== undefined) q = q.where('client_id', '=', f.clientId)
    if (f.action !== undefined) q = q.where('action', '=', f.action)
    if (f.objectType !== undefined) q = q.where('object_type', '=', f.objectType)
    if (f.objectId !== undefined) q = q.where('object_id', '=', f.objectId)
    if (f.since !== undefined) q = q.where('at', '>=', f.since)
    if (f.until !== undefined) q = q.where('at', '<', f.until)
    if (f.after !== undefined) q = q.where('seq', '>', f.after)
    const rows = await q.orderBy('seq').limit(f.limit).execute()
    return rows.map(toRecord)
  }
}

function toRecord(r: AuditRow): AuditRecord {
  return {
    seq: Number(r.seq), partnerId: r.partner_id, clientId: r.client_id, credentialId: r.credential_id, action: r.action,
    objectType: r.object_type, objectId: r.object_id, sourceIp: r.source_ip, detail: r.detail ? JSON.parse(r.detail) as Record<string, unknown> : null, at: Number(r.at),
  }
}
