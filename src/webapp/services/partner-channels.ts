import { normalizePhone } from '../../domain/phone-number.js'
import type { ChannelRow } from '../../store/channels.js'
import { graphId } from '../../store/graph-ids.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'
import { audit, partnerWaba, type PartnerDeps } from './partner-clients.js'
import { notFound, PartnerRefusal, type PartnerActor } from './partner-refusal.js'
import { registerNumber, requestCode, verifyCode, type RegistrationLog } from './registration.js'
import { setWebhook, type WebhookView } from './webhook-config.js'

/** A channel in Meta's terms: its status (PENDING, CONNECTED, FLAGGED, DISCONNECTED), quality and tier. */
export interface ChannelView {
  phoneNumberId: string
  waId: string
  displayPhoneNumber: string
  verifiedName: string
  wabaId: string
  clientId: string
  platformType: string
  status: string
  quality: string
  tier: string | null
}

function statusOf(c: ChannelRow): string {
  if (c.status !== 'registered') return 'PENDING'
  if (c.deregisteredAt !== null) return 'DISCONNECTED'
  if (c.qualityRating === 'RED') return 'FLAGGED'
  return c.gatewayStatus === 'connected' ? 'CONNECTED' : 'DISCONNECTED'
}

export function channelView(c: ChannelRow): ChannelView {
  return {
    phoneNumberId: c.id, waId: c.waId, displayPhoneNumber: `+${c.cc} ${c.number}`, verifiedName: c.displayName, wabaId: c.wabaId,
    clientId: c.clientId, platformType: c.platformType, status: statusOf(c), quality: c.qualityRating ?? 'UNKNOWN', tier: c.messagingLimitTier,
  }
}

export async function listChannels(deps: PartnerDeps, actor: PartnerActor, filter: { clientId?: string; wabaId?: string }): Promise<ChannelView[]> {
  return (await deps.store.channels.list(actor.partnerId, filter)).map(channelView)
}

/** One of the partner's channels, or 404 as if it did not exist. */
export async function partnerChannel(deps: PartnerDeps, actor: PartnerActor, id: string): Promise<ChannelRow> {
  const channel = await deps.store.channels.get(actor.partnerId, id)
  if (!channel) throw notFound('channel', id)
  return channel
}

async function numberRow(ctx: WebContext, actor: PartnerActor, id: string): Promise<{ channel: ChannelRow; number: PhoneNumberRow }> {
  const channel = await partnerChannel({ store: ctx.store }, actor, id)
  const number = await ctx.store.numbers.get(id)
  if (!number) throw notFound('channel', id)
  return { channel, number }
}

export interface NewChannel {
  waba_id?: unknown
  cc?: unknown
  phone_number?: unknown
  display_name?: unknown
  /** The display name certificate the network issued (base64), as `POST /v1/account` takes it. */
  cert?: unknown
}

const DISPLAY_NAME_MAX = 256
// a vname certificate is a signed msgpack of cc, phone and name (src/network/vname.ts): well under 8 KB
const CERT_MAX_BYTES = 8192
const CERT_MAX_CHARS = Math.ceil(CERT_MAX_BYTES / 3) * 4

/** The base64 certificate without whitespace (as `POST /v1/account` takes it), checked before anything is created. */
function certOf(cert: unknown): string | undefined {
  if (cert === undefined) return undefined
  const text = typeof cert === 'string' ? cert.replace(/\s/g, '') : ''
  if (!/^[A-Za-z0-9+/=_-]+$/.test(text) || text.length > CERT_MAX_CHARS) {
    throw new PartnerRefusal('invalid_request', `'cert' must be the base64 display name certificate, at most ${CERT_MAX_BYTES / 1024} KB decoded`)
  }
  return text
}

/** Adds a Cloud-hosted number to one of the partner's WABAs; it registers with request_code, verify_code and register. */
export async function addChannel(ctx: WebContext, actor: PartnerActor, input: NewChannel): Promise<ChannelView> {
  const deps = { store: ctx.store }
  // no coercion: an object's toString is the caller's, a number or an array is not an id
  if (typeof input.waba_id !== 'string' || !input.waba_id) throw new PartnerRefusal('invalid_request', "'waba_id' must be the id of one of this partner's WABAs (a string)")
  const waba = await partnerWaba(deps, actor, input.waba_id)
  const cc = typeof input.cc === 'string' && /^[1-9][0-9]{0,2}$/.test(input.cc) ? input.cc : undefined
  if (!cc) throw new PartnerRefusal('invalid_request', "'cc' must be a country calling code of 1-3 digits, e.g. \"44\"")
  const digits = typeof input.phone_number === 'string' ? normalizePhone(`+${cc}${input.phone_number}`) : undefined
  if (!digits || !/^[0-9]{4,14}$/.test(input.phone_number as string)) throw new PartnerRefusal('invalid_request', "'phone_number' must be the national number in digits, e.g. \"7700900123\"")
  const displayName = typeof input.display_name === 'string' && input.display_name.trim() ? input.display_name.trim() : undefined
  if (!displayName || displayName.length > DISPLAY_NAME_MAX) {
    throw new PartnerRefusal('invalid_request', `'display_name' must be the business's display name, at most ${DISPLAY_NAME_MAX} characters`)
  }
  const cert = certOf(input.cert)
  const taken = () => new PartnerRefusal('conflict', `+${digits} is already a number of this deployment`)
  if (await ctx.store.numbers.getByWaId(digits)) throw taken()
  const id = graphId()
  try {
    await ctx.store.numbers.create({ id, cc, number: input.phone_number as string, displayName, wabaId: waba.id, platformType: 'CLOUD_API' })
  } catch (err) {
    // a concurrent add of the same number passed the check above too: the unique wa_id decides
    if (ctx.store.ctx.engine.classify(err) === 'unique-violation') throw taken()
    throw err
  }
  if (cert !== undefined) await ctx.store.numbers.update(id, { cert })
  await audit(deps, actor, 'channel.create', 'channel', id, waba.clientId, { waba_id: waba.id, wa_id: digits })
  return channelView(await partnerChannel(deps, actor, id))
}

export type RegistrationStep = { step: 'request_code'; method: 'sms' | 'voice' } | { step: 'verify_code'; code: string } | { step: 'register'; pin: string }

/** One step of a channel's registration on the network, through the registration use cases the Cloud API uses. */
export async function registerChannel(ctx: WebContext, actor: PartnerActor, id: string, step: RegistrationStep, log: RegistrationLog): Promise<ChannelView> {
  const { channel, number } = await numberRow(ctx, actor, id)
  if (step.step === 'request_code') await requestCode(ctx, number, step.method)
  else if (step.step === 'verify_code') await verifyCode(ctx, number, step.code)
  else await registerNumber(ctx, number, { pin: step.pin }, log)
  ctx.clearCaches()
  await audit({ store: ctx.store }, actor, `channel.${step.step}`, 'channel', id, channel.clientId)
  return channelView(await partnerChannel({ store: ctx.store }, actor, id))
}

/** Sets a channel's webhook URL and headers over the webhook-config use case; answers them masked. */
export async function setChannelWebhook(ctx: WebContext, actor: PartnerActor, id: string, change: { url: string; headers: Record<string, string> }): Promise<WebhookView> {
  const { channel, number } = await numberRow(ctx, actor, id)
  const view = await setWebhook(ctx, number, change)
  ctx.clearCaches()
  await audit({ store: ctx.store }, actor, 'channel.webhook.set', 'channel', id, channel.clientId, { url: view.url })
  return view
}
