import { ACCESS_TOKEN_SCOPES, isAccessTokenScope, type AccessTokenScope } from '../../domain/hosting.js'
import { API_KEY_SCOPES, type ApiKeyScope } from '../../store/api-keys.js'
import { CREDENTIAL_ID_LENGTH, type CredentialListing } from '../../store/channels.js'
import type { PartnerKeyInfo, PartnerKeyPair } from '../../store/partners.js'
import { secretDigest } from '../../store/users.js'
import { partnerChannel } from './partner-channels.js'
import { audit, partnerWaba, type PartnerDeps } from './partner-clients.js'
import { notFound, PartnerRefusal, type PartnerActor } from './partner-refusal.js'

/** How long a rotated-out key keeps working unless the caller says otherwise: one day. */
export const DEFAULT_GRACE_MS = 24 * 3_600_000
/** The longest grace a rotation may give: thirty days. */
export const MAX_GRACE_MS = 30 * 24 * 3_600_000

/** A secret made now, shown once, with the id that names it afterwards. */
export interface IssuedSecret extends CredentialListing {
  secret: string
}

const idOf = (secret: string) => secretDigest(secret).slice(0, CREDENTIAL_ID_LENGTH)

export function checkedGrace(raw: unknown): number {
  if (raw === undefined || raw === null) return DEFAULT_GRACE_MS
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw * 1000 > MAX_GRACE_MS) {
    throw new PartnerRefusal('invalid_request', `'grace_seconds' must be an integer from 0 to ${MAX_GRACE_MS / 1000}`)
  }
  return raw * 1000
}

function checkedLabel(raw: unknown): string {
  if (raw === undefined) return ''
  if (typeof raw !== 'string' || raw.length > 200) throw new PartnerRefusal('invalid_request', "'label' must be a string of at most 200 characters")
  return raw
}

export async function issueApiKey(deps: PartnerDeps, actor: PartnerActor, channelId: string, input: { scope?: unknown; label?: unknown }): Promise<IssuedSecret & { scope: ApiKeyScope }> {
  const channel = await partnerChannel(deps, actor, channelId)
  const scope = input.scope ?? 'd360'
  if (!API_KEY_SCOPES.includes(scope as ApiKeyScope)) throw new PartnerRefusal('invalid_request', `'scope' must be one of ${API_KEY_SCOPES.join(', ')}`)
  const label = checkedLabel(input.label)
  const secret = await deps.store.apiKeys.create(channel.id, scope as ApiKeyScope, label)
  const issued = { id: idOf(secret), scope: scope as ApiKeyScope, label, createdAt: deps.store.ctx.clock.now(), revokedAt: null, secret }
  await audit(deps, actor, 'api_key.create', 'api_key', issued.id, channel.clientId, { phone_number_id: channel.id, scope })
  return issued
}

export async function listApiKeys(deps: PartnerDeps, actor: PartnerActor, channelId: string) {
  const channel = await partnerChannel(deps, actor, channelId)
  return deps.store.channels.apiKeys(channel.id)
}

/** What a rotation needs to know of the credential kind: how to end the old one and make its successor. */
interface Rotation<T extends { label: string }> {
  what: 'api_key' | 'token'
  id: string
  clientId: string
  /** The owner, for the audit detail: `{phone_number_id}` or `{waba_id}`. */
  owner: Record<string, string>
  end(until: number): Promise<T | undefined>
  successor(old: T): Promise<string>
}

/** Ends the old credential after the grace period and issues its successor, with the same scopes and label. */
async function rotate<T extends { label: string }>(deps: PartnerDeps, actor: PartnerActor, r: Rotation<T>, graceRaw: unknown): Promise<IssuedSecret & Omit<T, 'label'> & { previousValidUntil: number }> {
  const grace = checkedGrace(graceRaw)
  const until = deps.store.ctx.clock.now() + grace
  const old = await r.end(until)
  if (!old) throw notFound(r.what === 'token' ? 'token' : 'API key', r.id)
  const secret = await r.successor(old)
  const issued = { ...old, id: idOf(secret), createdAt: deps.store.ctx.clock.now(), revokedAt: null, secret, previousValidUntil: until }
  await audit(deps, actor, `${r.what}.rotate`, r.what, r.id, r.clientId, { ...r.owner, new_id: issued.id, grace_seconds: grace / 1000 })
  deps.changed?.()
  return issued
}

/** A new key of the same scope and label; the old one keeps working for the grace period, then stops. */
export async function rotateApiKey(deps: PartnerDeps, actor: PartnerActor, channelId: string, keyId: string, graceRaw: unknown) {
  const channel = await partnerChannel(deps, actor, channelId)
  return rotate(deps, actor, {
    what: 'api_key', id: keyId, clientId: channel.clientId, owner: { phone_number_id: channel.id },
    end: (until) => deps.store.channels.endApiKey(channel.id, keyId, until),
    successor: (old) => deps.store.apiKeys.create(channel.id, old.scope, old.label),
  }, graceRaw)
}

export async function revokeApiKey(deps: PartnerDeps, actor: PartnerActor, channelId: string, keyId: string): Promise<void> {
  const channel = await partnerChannel(deps, actor, channelId)
  if (!(await deps.store.channels.endApiKey(channel.id, keyId, deps.store.ctx.clock.now()))) throw notFound('API key', keyId)
  await audit(deps, actor, 'api_key.revoke', 'api_key', keyId, channel.clientId, { phone_number_id: channel.id })
  deps.changed?.()
}

/** A Graph system-user token of one of the partner's WABAs (reaches all of its numbers). */
export async function issueToken(deps: PartnerDeps, actor: PartnerActor, wabaId: string, input: { scopes?: unknown; label?: unknown }): Promise<IssuedSecret & { scopes: AccessTokenScope[] }> {
  const waba = await partnerWaba(deps, actor, wabaId)
  const raw = input.scopes ?? ACCESS_TOKEN_SCOPES
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every(isAccessTokenScope)) {
    throw new PartnerRefusal('invalid_request', `'scopes' must be a non-empty array of ${ACCESS_TOKEN_SCOPES.join(', ')}`)
  }
  const label = checkedLabel(input.label)
  const secret = await deps.store.accessTokens.create(waba.id, raw, label)
  const scopes = ACCESS_TOKEN_SCOPES.filter((s) => raw.includes(s))
  const issued = { id: idOf(secret), scopes, label, createdAt: deps.store.ctx.clock.now(), revokedAt: null, secret }
  await audit(deps, actor, 'token.create', 'token', issued.id, waba.clientId, { waba_id: waba.id, scopes })
  return issued
}

export async function listTokens(deps: PartnerDeps, actor: PartnerActor, wabaId: string) {
  const waba = await partnerWaba(deps, actor, wabaId)
  return deps.store.channels.tokens(waba.id)
}

/** A new token of the same scopes and label; the old one keeps working for the grace period, then stops. */
export async function rotateToken(deps: PartnerDeps, actor: PartnerActor, wabaId: string, tokenId: string, graceRaw: unknown) {
  const waba = await partnerWaba(deps, actor, wabaId)
  return rotate(deps, actor, {
    what: 'token', id: tokenId, clientId: waba.clientId, owner: { waba_id: waba.id },
    end: (until) => deps.store.channels.endToken(waba.id, tokenId, until),
    successor: (old) => deps.store.accessTokens.create(waba.id, old.scopes, old.label),
  }, graceRaw)
}

export async function revokeToken(deps: PartnerDeps, actor: PartnerActor, wabaId: string, tokenId: string): Promise<void> {
  const waba = await partnerWaba(deps, actor, wabaId)
  if (!(await deps.store.channels.endToken(waba.id, tokenId, deps.store.ctx.clock.now()))) throw notFound('token', tokenId)
  await audit(deps, actor, 'token.revoke', 'token', tokenId, waba.clientId, { waba_id: waba.id })
  deps.changed?.()
}

/** The partner's own key pairs. */
export function listPartnerKeys(deps: PartnerDeps, actor: PartnerActor): Promise<PartnerKeyInfo[]> {
  return deps.store.partners.listKeys(actor.partnerId)
}

export async function createPartnerKey(deps: PartnerDeps, actor: PartnerActor, label: unknown): Promise<PartnerKeyPair> {
  const pair = await deps.store.partners.createKey(actor.partnerId, checkedLabel(label))
  await audit(deps, actor, 'partner_key.create', 'partner_key', pair.keyId, null)
  return pair
}

/** A new secret for the key id; the current secret keeps working for the grace period. */
export async function rotatePartnerKey(deps: PartnerDeps, actor: PartnerActor, keyId: string, graceRaw: unknown): Promise<PartnerKeyPair & { previousValidUntil: number }> {
  const grace = checkedGrace(graceRaw)
  const pair = await deps.store.partners.rotateKey(actor.partnerId, keyId, grace)
  if (!pair) throw notFound('partner key', keyId)
  await audit(deps, actor, 'partner_key.rotate', 'partner_key', keyId, null, { grace_seconds: grace / 1000 })
  return { ...pair, previousValidUntil: deps.store.ctx.clock.now() + grace }
}

export async function revokePartnerKey(deps: PartnerDeps, actor: PartnerActor, keyId: string): Promise<void> {
  if (!(await deps.store.partners.revokeKey(actor.partnerId, keyId))) throw notFound('partner key', keyId)
  await audit(deps, actor, 'partner_key.revoke', 'partner_key', keyId, null)
}
