import type { Generated, Selectable } from 'kysely'

/** Tables of migration 0011-tenancy (the BSP hub). Timestamps are integer ms. */
export interface PartnerTable {
  id: string
  name: string
  created_at: number
}

export interface PartnerKeyTable {
  /** sha256 of the secret (the secret is shown once, at creation or rotation). */
  secret_hash: string
  /** Public half of the pair, the Basic user name; several rows share it during a rotation's grace. */
  key_id: string
  partner_id: string
  label: string
  created_at: number
  /** End of the grace period of a rotated-out secret; null while it is the current one. */
  expires_at: number | null
  revoked_at: number | null
}

export interface ClientTable {
  id: string
  partner_id: string
  name: string
  /** active | suspended */
  status: Generated<string>
  /** Ceiling over all of the client's credentials, requests per second; null = none. */
  requests_per_second: number | null
  burst: number | null
  created_at: number
  updated_at: number
}

export interface AuditLogTable {
  seq: Generated<number>
  partner_id: string
  client_id: string | null
  /** The key id or label of the credential, never its secret. */
  credential_id: string
  action: string
  object_type: string
  object_id: string
  source_ip: string | null
  /** JSON of what changed (never secrets). */
  detail: string | null
  at: number
}

export interface TenancyTables {
  partners: PartnerTable
  partner_keys: PartnerKeyTable
  clients: ClientTable
  audit_log: AuditLogTable
}

export type ClientRow = Selectable<ClientTable>
export type AuditRow = Selectable<AuditLogTable>
