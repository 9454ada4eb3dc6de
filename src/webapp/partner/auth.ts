import type { FastifyRequest } from 'fastify'
import type { Store } from '../../store/store.js'
import { PartnerRefusal, type PartnerActor } from '../services/partner-refusal.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The partner a Partner API request acts for (set by the plugin's hook). */
    partner: PartnerActor | null
  }
}

/** The key ids PartnerStore.createKey mints: anything else is unknown without asking the store (which cannot hold NUL). */
const KEY_ID = /^pk_[0-9A-Za-z]{24}$/

const HOW = 'send Authorization: Basic base64(key_id:secret) with a partner key pair (`wabox partner keys create`, or `partner` in credentials.json)'

/** The key pair of `Authorization: Basic`, as Twilio takes its API key and secret. */
function keyPair(request: FastifyRequest): { keyId: string; secret: string } | undefined {
  const auth = request.headers.authorization
  const match = /^basic\s+(\S+)\s*$/i.exec(auth ?? '')
  if (!match) return undefined
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) return undefined
  return { keyId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) }
}

/** Identifies the partner of a request; 401 for a missing, unknown, revoked or expired key pair. */
export async function identifyPartner(store: Store, request: FastifyRequest): Promise<PartnerActor> {
  const pair = keyPair(request)
  if (!pair) throw new PartnerRefusal('unauthorized', `Missing credentials: ${HOW}`)
  const found = KEY_ID.test(pair.keyId) ? await store.partners.verify(pair.keyId, pair.secret) : undefined
  if (!found) throw new PartnerRefusal('unauthorized', 'Unknown, revoked or expired partner key pair (a rotated-out secret works until its grace period ends)')
  const actor = { partnerId: found.partnerId, credentialId: found.keyId, sourceIp: request.ip }
  request.partner = actor
  return actor
}

/** The partner of a request the plugin's hook identified. */
export function actorOf(request: FastifyRequest): PartnerActor {
  if (!request.partner) throw new PartnerRefusal('unauthorized', `Missing credentials: ${HOW}`)
  return request.partner
}
