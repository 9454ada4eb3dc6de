import { randomBase62 } from './graph-ids.js'
import type { StoreContext } from './store.js'
import { secretDigest } from './users.js'

export interface PartnerInfo {
  id: string
  name: string
  createdAt: number
}

/** A partner key pair; the secret is readable only in the answer that made it. */
export interface PartnerKeyPair {
  keyId: string
  secret: string
}

export interface PartnerKeyInfo {
  keyId: string
  label: string
  createdAt: number
  /** Set on a secret rotated out: it keeps working until then. */
  expiresAt: number | null
  revokedAt: number | null
}

/** Partners (the hosting businesses at the top of the tenancy) and their key pairs. */
export class Partners {
  constructor(private readonly ctx: StoreContext) {}

  async create(name: string): Promise<PartnerInfo> {
    const id = 'ptn_' + randomBase62(16)
    const createdAt = this.ctx.clock.now()
    await this.ctx.db.insertInto('partners').values({ id, name, created_at: createdAt }).execute()
    return { id, name, createdAt }
  }

  async get(id: string): Promise<PartnerInfo | undefined> {
    const row = await this.ctx.db.selectFrom('partners').selectAll().where('id', '=', id).executeTakeFirst()
    return row && { id: row.id, name: row.name, createdAt: row.created_at }
  }

  async list(): Promise<PartnerInfo[]> {
    const rows = await this.ctx.db.selectFrom('partners').selectAll().orderBy('created_at').orderBy('id').execute()
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at }))
  }

  /** A new key pair of the partner. */
  async createKey(partnerId: string, label: string): Promise<PartnerKeyPair> {
    const keyId = 'pk_' + randomBase62(24)
    return { keyId, secret: await this.#addSecret(partnerId, keyId, label) }
  }

  /** The partner a key pair belongs to, or undefined for an unknown, revoked or expired one. */
  async verify(keyId: string, secret: string): Promise<{ partnerId: string; keyId: string } | undefined> {
    if (!keyId || !secret) return undefined
    const row = await this.ctx.db.selectFrom('partner_keys').select(['partner_id', 'key_id', 'expires_at'])
      .where('secret_hash', '=', secretDigest(secret)).where('key_id', '=', keyId).where('revoked_at', 'is', null)
      .executeTakeFirst()
    if (!row || (row.expires_at !== null && row.expires_at <= this.ctx.clock.now())) return undefined
    return { partnerId: row.partner_id, keyId: row.key_id }
  }

  /**
   * A new secret for the partner's `keyId`; the current one keeps working for `graceMs`.
   * Undefined when the partner has no such live key.
   */
  async rotateKey(partnerId: string, keyId: string, graceMs: number): Promise<PartnerKeyPair | undefined> {
    const now = this.ctx.clock.now()
    const current = await this.ctx.db.selectFrom('partner_keys').select(['label'])
      .where('partner_id', '=', partnerId).where('key_id', '=', keyId).where('revoked_at', 'is', null).where('expires_at', 'is', null)
      .executeTakeFirst()
    if (!current) return undefined
    await this.ctx.db.updateTable('partner_keys').set({ expires_at: now + graceMs })
      .where('partner_id', '=', partnerId).where('key_id', '=', keyId).where('revoked_at', 'is', null).where('expires_at', 'is', null)
      .execute()
    return { keyId, secret: await this.#addSecret(partnerId, keyId, current.label) }
  }

  /** Revokes every secret of the partner's `keyId` at once; false when it has none live. */
  async revokeKey(partnerId: string, keyId: string): Promise<boolean> {
    const result = await this.ctx.db.updateTable('partner_keys').set({ revoked_at: this.ctx.clock.now() })
      .where('partner_id', '=', partnerId).where('key_id', '=', keyId).where('revoked_at', 'is', null).executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  /** The partner's key secrets without the secrets themselves, oldest first. */
  async listKeys(partnerId: string): Promise<PartnerKeyInfo[]> {
    const rows = await this.ctx.db.selectFrom('partner_keys').selectAll().where('partner_id', '=', partnerId)
      .orderBy('created_at').orderBy('key_id').execute()
    return rows.map((r) => ({ keyId: r.key_id, label: r.label, createdAt: r.created_at, expiresAt: r.expires_at, revokedAt: r.revoked_at }))
  }

  async #addSecret(partnerId: string, keyId: string, label: string): Promise<string> {
    const secret = 'sk_' + randomBase62(40)
    await this.ctx.db.insertInto('partner_keys').values({
      secret_hash: secretDigest(secret), key_id: keyId, partner_id: partnerId, label, created_at: this.ctx.clock.now(), expires_at: null, revoked_at: null,
    }).execute()
    return secret
  }
}
