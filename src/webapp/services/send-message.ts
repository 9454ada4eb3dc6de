import type { OutboundContent } from '../../domain/message/outbound.js'
import { validateOutbound, type MediaIdRef, type ValidationOptions } from '../../domain/message/validation.js'
import { shardOf } from '../../domain/shard.js'
import { resolveTemplate } from '../../domain/templates.js'
import { CloudCode, OnPremCode, WaboxError } from '../../errors/index.js'
import { messageId } from '../../ids.js'
import { categoryOf, parseMime } from '../../media/limits.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'
import { notFound } from '../errors.js'

/** The rules of the calling dialect (On-Prem requires a template namespace, Cloud does not). */
export interface SendRules extends Omit<ValidationOptions, 'mediaProviders'> {
  /** Where this dialect uploads media, named when a media id is unknown, e.g. `POST /v1/media`. */
  uploadRoute: string
  /**
   * Cloud answers a template that does not exist or does not fit in the response, as Meta does;
   * without it (On-Prem) the engine reports it as a failed status.
   */
  templateErrorsNow?: boolean
}

export interface SentMessage {
  /** The message id (wamid) the caller answers with; statuses carry it. */
  id: string
  /** The recipient's wa_id: `to` normalised to digits. */
  to: string
}

/** How a Cloud send named its recipient when it was not by phone number. */
export interface Addressing {
  /** The business-scoped user id the send was addressed to; `to` is the wa_id it resolved to. Statuses name it. */
  recipient?: string
}

/** 1016 while the number's webhook lags too far behind: the callbacks would only pile up. */
async function checkOverload(ctx: WebContext, number: PhoneNumberRow): Promise<void> {
  const backlog = await ctx.backlog.get(number.id)
  if (backlog > ctx.limits.overloadThreshold) {
    throw new WaboxError(OnPremCode.SYSTEM_OVERLOADED,
      `${backlog} callbacks are waiting for delivery to this number's webhook (limit ${ctx.limits.overloadThreshold}); make the webhook answer 200, then retry`)
  }
}

/** Each media id names media this number uploaded, of a kind the message may carry. */
async function checkMediaIds(ctx: WebContext, number: PhoneNumberRow, refs: readonly MediaIdRef[], uploadRoute: string): Promise<void> {
  for (const ref of refs) {
    const media = await ctx.store.media.getOwned(number.id, ref.id)
    if (!media) throw notFound(`${ref.path}: no media with id '${ref.id}' for this number; upload it with ${uploadRoute}`)
    const category = categoryOf(parseMime(media.mime_type)?.essence ?? '')
    if (ref.categories && !ref.categories.includes(category)) {
      // Cloud calls the wrong MIME type 131053; its On-Prem twin stays 1009
      throw new WaboxError(CloudCode.MEDIA_UPLOAD_ERROR,
        `Invalid value for '${ref.path}': media '${ref.id}' is ${media.mime_type}, which cannot be sent as ${ref.categories.join(' or ')}`)
    }
  }
}

/** Meta's own words in the response where they differ from the catalogue title. */
const GRAPH_WORDS: Partial<Record<number, string>> = {
  [OnPremCode.TEMPLATE_PARAM_COUNT_MISMATCH]: 'Number of parameters does not match the expected number of params',
}

/**
 * The engine's template rules, applied now when the number's templates are at hand: a template
 * that does not exist (132001), whose parameters do not fit (132000, 132012, ...), or that needs
 * a phone number and was sent to a user id (131062). When they are not at hand, or a template
 * changes before the send, the engine applies the same rules and fails the message instead.
 */
async function checkTemplate(ctx: WebContext, number: PhoneNumberRow, content: OutboundContent): Promise<void> {
  if (content.type !== 'template') return
  // a network slow to answer (or frozen) must not hold the send: the engine checks anyway
  const within = ctx.limits.templateCheckMs
  let pack = await atMost(ctx.templates.get(number.id), within)
  if (!pack) return
  let result = resolveTemplate(pack, content.template)
  if (!result.ok && result.code === OnPremCode.TEMPLATE_MISSING) {
    // the cached pack may predate a template approved a moment ago: ask the network before a 404
    pack = await atMost(ctx.deps.bridge.templates(number.id).catch(() => undefined), within)
    if (!pack) return
    result = resolveTemplate(pack, content.template)
  }
  if (result.ok) return
  const words = GRAPH_WORDS[result.code]
  throw new WaboxError(result.code, result.details, words === undefined ? {} : { graphMessage: words })
}

/** What `promise` gives within `ms`, else undefined (it goes on unobserved). */
async function atMost<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, ms, undefined)))
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Sends a message body of the canonical shape (the dialect has mapped its own fields onto it):
 * validates it, applies the rules that need no network, queues it durably on the recipient's
 * shard and wakes the engine. The outcome arrives as status callbacks.
 */
export async function sendMessage(ctx: WebContext, number: PhoneNumberRow, body: unknown, rules: SendRules, addressing: Addressing = {}): Promise<SentMessage> {
  await checkOverload(ctx, number)
  const { uploadRoute: _, templateErrorsNow: _now, ...validation } = rules
  const v = validateOutbound(body, { ...validation, mediaProviders: await ctx.mediaProviders.get(number.id) })
  if (addressing.recipient !== undefined) {
    v.content.recipient = addressing.recipient
    if (v.content.type === 'template') v.content.template.to_user_id = true
  }
  const to = v.content.to
  if (to === number.wa_id) throw new WaboxError(OnPremCode.BAD_USER, `'to' is this number itself (${to})`)
  await checkMediaIds(ctx, number, v.mediaIds, rules.uploadRoute)
  if (rules.templateErrorsNow) await checkTemplate(ctx, number, v.content)
  const settings = ctx.store.numbers.settings(number)
  if (settings.show_security_notifications && await ctx.store.contacts.identityBlocked(number.id, to)) {
    throw new WaboxError(OnPremCode.IDENTITY_CHANGE_ACK_REQUIRED,
      `The identity of ${to} changed; acknowledge it with PUT /v1/contacts/${to}/identity before sending`)
  }
  const id = messageId()
  await ctx.intake.add({
    id,
    phoneNumberId: number.id,
    to,
    type: v.content.type,
    content: v.content,
    shard: shardOf(to, Math.max(1, number.shard_count)),
    expiresAt: v.ttlMs === undefined ? null : ctx.deps.clock.now() + v.ttlMs,
  })
  ctx.deps.onMessagesQueued?.(number.id)
  return { id, to }
}
