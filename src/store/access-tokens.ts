import { ACCESS_TOKEN_SCOPES, isAccessTokenScope, type AccessTokenScope } from '../domain/hosting.js'
import { Apps } from './apps.js'
import type { AccessTokenRow } from './cloud-schema.js'
import { randomBase62 } from './graph-ids.js'
import type { StoreContext } from './store.js'
import { secretDigest } from './users.js'

export interface AccessTokenInfo {
  wabaId: string
  scopes: AccessTokenScope[]
  label: string
  createdAt: number
}

/** Long enough to look like Meta's (around 200 characters) and far beyond guessing. */
const TOKEN_BODY_LENGTH = 192

/**
 * System-user access tokens (`Authorization: Bearer`), each bound to one WABA and so to all
 * of its numbers. Only their sha256 digest is stored, as for API keys.
 */
export class AccessTokens {
  constructor(private readonly ctx: StoreContext) {}

  /** Creates a token and returns it in plain text: the only time it can be read. */
  async create(wabaId: string, scopes: readonly AccessTokenScope[], label: string): Promise<string> {
    const unknown = scopes.find((s) => !isAccessTokenScope(s))
    if (unknown !== undefined) throw new Error(`Unknown access token scope ${String(unknown)}`)
    if (scopes.length === 0) throw new Error('An access token needs at least one scope')
    const token = 'EAA' + randomBase62(TOKEN_BODY_LENGTH)
    await this.ctx.db.insertInto('access_tokens').values({
      token_hash: secretDigest(token),
      waba_id: wabaId,
      // in catalogue order, each once, whatever order they were given in
      scopes: ACCESS_TOKEN_SCOPES.filter((s) => scopes.includes(s)).join(','),
      label,
      created_at: this.ctx.clock.now(),
      revoked_at: null,
    }).execute()
    return token
  }

  /** The token's WABA and scopes, or undefined for an unknown or revoked token. */
  async verify(token: string): Promise<AccessTokenInfo | undefined> {
    if (!token) return undefined
    const row = await this.ctx.db.selectFrom('access_tokens').selectAll()
      .where('token_hash', '=', secretDigest(token))
      // a rotated-out token stays valid until its revoked_at (the rotation's grace period)
      .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', this.ctx.clock.now())]))
      .executeTakeFirst()
    return row && toInfo(row)
  }

  /** The app an app access token `<app_id>|<app_secret>` stands for (the app subscription route takes it). */
  verifyApp(token: string): Promise<{ appId: string } | undefined> {
    return new Apps(this.ctx).verifyToken(token)
  }

  async revoke(token: string): Promise<boolean> {
    const result = await this.ctx.db.updateTable('access_tokens').set({ revoked_at: this.ctx.clock.now() })
      .where('token_hash', '=', secretDigest(token))
      .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', this.ctx.clock.now())])).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  /** Tokens of a WABA without their secrets (labels, scopes, dates), oldest first. */
  async list(wabaId: string): Promise<(AccessTokenInfo & { revokedAt: number | null })[]> {
    const rows = await this.ctx.db.selectFrom('access_tokens').selectAll()
      .where('waba_id', '=', wabaId).orderBy('created_at').execute()
    return rows.map((r) => ({ ...toInfo(r), revokedAt: r.revoked_at }))
  }
}

function toInfo(row: AccessTokenRow): AccessTokenInfo {
  return { wabaId: row.waba_id, scopes: row.scopes.split(',').filter(isAccessTokenScope), label: row.label, createdAt: row.created_at }
}
