import { randomToken } from '../ids.js'
import type { StoreContext } from './store.js'
import { secretDigest } from './users.js'

/**
 * - `d360`: the 360dialog-style BSP key (`D360-API-KEY`): messages, media, contacts, profiles,
 *   webhook config and health of its number; everything else answers 403.
 * - `admin`: every endpoint of its number except user management.
 * - `monitoring`: health, metrics and stats only (`Authorization: Apikey`).
 */
export type ApiKeyScope = 'd360' | 'admin' | 'monitoring'

export const API_KEY_SCOPES: readonly ApiKeyScope[] = ['d360', 'admin', 'monitoring']

export interface ApiKeyInfo {
  phoneNumberId: string
  scope: ApiKeyScope
  label: string
  createdAt: number
}

/** API keys, each bound to one number; only their sha256 digest is stored. */
export class ApiKeys {
  constructor(private readonly ctx: StoreContext) {}

  /** Creates a key and returns it in plain text: the only time it can be read. */
  async create(phoneNumberId: string, scope: ApiKeyScope, label: string): Promise<string> {
    if (!API_KEY_SCOPES.includes(scope)) throw new Error(`Unknown API key scope ${String(scope)}`)
    const key = 'wbx_' + randomToken(32)
    await this.ctx.db.insertInto('api_keys').values({
      key_hash: secretDigest(key),
      phone_number_id: phoneNumberId,
      scope,
      label,
      created_at: this.ctx.clock.now(),
      revoked_at: null,
    }).execute()
    return key
  }

  /** The key's number and scope, or undefined for an unknown or revoked key. */
  async verify(key: string): Promise<ApiKeyInfo | undefined> {
    if (!key) return undefined
    const row = await this.ctx.db.selectFrom('api_keys').selectAll()
      .where('key_hash', '=', secretDigest(key))
      // a rotated-out key stays valid until its revoked_at (the rotation's grace period)
      .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', this.ctx.clock.now())]))
      .executeTakeFirst()
    if (!row || !API_KEY_SCOPES.includes(row.scope as ApiKeyScope)) return undefined
    return { phoneNumberId: row.phone_number_id, scope: row.scope as ApiKeyScope, label: row.label, createdAt: row.created_at }
  }

  async revoke(key: string): Promise<boolean> {
    const result = await this.ctx.db.updateTable('api_keys').set({ revoked_at: this.ctx.clock.now() })
      .where('key_hash', '=', secretDigest(key))
      .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', this.ctx.clock.now())])).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  /** Keys of a number without their secrets (labels, scopes, dates). */
  async list(phoneNumberId: string): Promise<(ApiKeyInfo & { revokedAt: number | null })[]> {
    const rows = await this.ctx.db.selectFrom('api_keys').selectAll()
      .where('phone_number_id', '=', phoneNumberId).orderBy('created_at').execute()
    return rows.map((r) => ({
      phoneNumberId: r.phone_number_id, scope: r.scope as ApiKeyScope, label: r.label, createdAt: r.created_at, revokedAt: r.revoked_at,
    }))
  }
}
