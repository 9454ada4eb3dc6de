import type { AccessTokenScope } from '../domain/hosting.js'
import type { ApiKeyScope } from './api-keys.js'
import type { StoreContext } from './store.js'

/** A number as a partner sees it, with what its management state says. */
export interface ChannelRow {
  id: string
  waId: string
  cc: string
  number: string
  displayName: string
  wabaId: string
  clientId: string
  platformType: string
  /** unregistered | pending | registered */
  status: string
  gatewayStatus: string
  deregisteredAt: number | null
  qualityRating: string | null
  messagingLimitTier: string | null
}

/** A credential as listed: its id is a prefix of its digest, enough to name it, useless to use it. */
export interface CredentialListing {
  id: string
  label: string
  createdAt: number
  /** When it stops (or stopped) working: a revocation, or the end of a rotation's grace. */
  revokedAt: number | null
}

/** How long the id of a listed key or token is: 16 hex characters of its sha256. */
export const CREDENTIAL_ID_LENGTH = 16

/**
 * The numbers (channels) of a partner and the credentials bound to them, every query scoped
 * by the partner through WABA → client, so a channel of another partner is never found.
 */
export class Channels {
  constructor(private readonly ctx: StoreContext) {}

  #numbers(partnerId: string) {
    return this.ctx.db.selectFrom('phone_numbers')
      .innerJoin('wabas', 'wabas.id', 'phone_numbers.waba_id')
      .innerJoin('clients', 'clients.id', 'wabas.client_id')
      .leftJoin('number_management', 'number_management.phone_number_id', 'phone_numbers.id')
      .select([
        'phone_numbers.id', 'phone_numbers.wa_id', 'phone_numbers.cc', 'phone_numbers.number', 'phone_numbers.display_name',
        'phone_numbers.waba_id', 'clients.id as client_id', 'phone_numbers.platform_type', 'phone_numbers.status',
        'phone_numbers.gateway_status', 'number_management.deregistered_at', 'number_management.quality_rating',
        'number_management.messaging_limit_tier',
      ])
      .where('clients.partner_id', '=', partnerId)
  }

  /** The partner's channels, of one client or WABA when given, oldest first. */
  async list(partnerId: string, filter: { clientId?: string; wabaId?: string } = {}): Promise<ChannelRow[]> {
    let q = this.#numbers(partnerId)
    if (filter.clientId !== undefined) q = q.where('clients.id', '=', filter.clientId)
    if (filter.wabaId !== undefined) q = q.where('wabas.id', '=', filter.wabaId)
    const rows = await q.orderBy('phone_numbers.created_at').orderBy('phone_numbers.id').execute()
    return rows.map(toChannel)
  }

  async get(partnerId: string, phoneNumberId: string): Promise<ChannelRow | undefined> {
    const row = await this.#numbers(partnerId).where('phone_numbers.id', '=', phoneNumberId).executeTakeFirst()
    return row && toChannel(row)
  }

  /** API keys of one of the partner's channels (the caller found the channel through `get`). */
  async apiKeys(phoneNumberId: string): Promise<(CredentialListing & { scope: ApiKeyScope })[]> {
    const rows = await this.ctx.db.selectFrom('api_keys').selectAll().where('phone_number_id', '=', phoneNumberId)
      .orderBy('created_at').orderBy('key_hash').execute()
    return rows.map((r) => ({ id: r.key_hash.slice(0, CREDENTIAL_ID_LENGTH), scope: r.scope as ApiKeyScope, label: r.label, createdAt: r.created_at, revokedAt: r.revoked_at }))
  }

  /**
   * Ends a channel's key at `at` (now for a revocation, later for a rotation's grace).
   * The key is named by the id its listing shows; false when the channel has no such live key.
   */
  async endApiKey(phoneNumberId: string, id: string, at: number): Promise<{ scope: ApiKeyScope; label: string } | undefined> {
    const now = this.ctx.clock.now()
    // a key in a rotation's grace period is still live: it may be revoked (or rotated) again, never extended
    const row = await this.ctx.db.selectFrom('api_keys').select(['key_hash', 'scope', 'label', 'revoked_at'])
      .where('phone_number_id', '=', phoneNumberId).where('key_hash', 'like', `${hex(id)}%`)
      .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', now)]))
      .executeTakeFirst()
    if (!row) return undefined
    const end = row.revoked_at === null ? at : Math.min(Number(row.revoked_at), at)
    await this.ctx.db.updateTable('api_keys').set({ revoked_at: end }).where('key_hash', '=', row.key_hash).execute()
    return { scope: row.scope as ApiKeyScope, label: row.label }
  }

  /** Access tokens of one of the partner's WABAs. */
  async tokens(wabaId: string): Promise<(CredentialListing & { scopes: AccessTokenScope[] })[]> {
    const rows = await this.ctx.db.selectFrom('access_tokens').selectAll().where('waba_id', '=', wabaId)
      .orderBy('created_at').orderBy('token_hash').execute()
    return rows.map((r) => ({
      id: r.token_hash.slice(0, CREDENTIAL_ID_LENGTH), scopes: r.scopes.split(',') as AccessTokenScope[], label: r.label, createdAt: r.created_at, revokedAt: r.revoked_at,
    }))
  }

  /** Ends a WABA's token named by its listed id at `at`, as `endApiKey` does a key. */
  async endToken(wabaId: string, id: string, at: number): Promise<{ scopes: AccessTokenScope[]; label: string } | undefined> {
    const now = this.ctx.clock.now()
    const row = await this.ctx.db.selectFrom('access_tokens').select(['token_hash', 'scopes', 'label', 'revoked_at'])
      .where('waba_id', '=', wabaId).where('token_hash', 'like', `${hex(id)}%`)
      .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', now)]))
      .executeTakeFirst()
    if (!row) return undefined
    const end = row.revoked_at === null ? at : Math.min(Number(row.revoked_at), at)
    await this.ctx.db.updateTable('access_tokens').set({ revoked_at: end }).where('token_hash', '=', row.token_hash).execute()
    return { scopes: row.scopes.split(',') as AccessTokenScope[], label: row.label }
  }
}

/** A listed id is hex only: anything else (a `%` or `_` of LIKE) matches nothing. */
function hex(id: string): string {
  return /^[0-9a-f]{16}$/.test(id) ? id : 'not-an-id'
}

function toChannel(r: {
  id: string; wa_id: string; cc: string; number: string; display_name: string; waba_id: string | null; client_id: string; platform_type: string
  status: string; gateway_status: string; deregistered_at: number | null; quality_rating: string | null; messaging_limit_tier: string | null
}): ChannelRow {
  return {
    id: r.id, waId: r.wa_id, cc: r.cc, number: r.number, displayName: r.display_name, wabaId: r.waba_id!, clientId: r.client_id,
    platformType: r.platform_type, status: r.status, gatewayStatus: r.gateway_status, deregisteredAt: r.deregistered_at,
    qualityRating: r.quality_rating, messagingLimitTier: r.messaging_limit_tier,
  }
}
