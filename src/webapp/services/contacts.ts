import type { ContactCheckResult } from '../../domain/bridge.js'
import { normalizePhone } from '../../domain/phone-number.js'
import { invalid } from '../../errors/index.js'
import type { ContactIdentity } from '../../store/contacts.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'
import { notFound } from '../errors.js'

/** Which inputs are WhatsApp users, and their wa_ids; `blocking` waits for the network's answer. */
export function checkContacts(
  ctx: WebContext, number: PhoneNumberRow, inputs: string[], opts: { blocking: boolean; forceCheck: boolean },
): Promise<ContactCheckResult[]> {
  return ctx.deps.bridge.checkContacts(number.id, inputs, opts)
}

/** A wa_id given in a path, as digits; 1009 naming `field` otherwise. */
export function waIdOf(raw: string, field = 'wa_id'): string {
  const waId = normalizePhone(raw)
  if (!waId) throw invalid(field, 'must be a WhatsApp id (5 to 15 digits)')
  return waId
}

/** The identity hash the number holds for a contact; 1006 if none is known. */
export async function contactIdentity(ctx: WebContext, number: PhoneNumberRow, waId: string): Promise<ContactIdentity> {
  const identity = await ctx.store.contacts.identity(number.id, waId)
  if (!identity) throw notFound(`No identity is known for ${waId}`)
  return identity
}

/** Acknowledges a changed identity so sends to the contact resume; 1009 on a hash that is not the current one. */
export async function acknowledgeIdentity(ctx: WebContext, number: PhoneNumberRow, waId: string, hash: string): Promise<void> {
  await contactIdentity(ctx, number, waId)
  if (!(await ctx.store.contacts.acknowledgeIdentity(number.id, waId, hash))) {
    throw invalid('hash', `is not the current identity hash of ${waId} (see its user_identity_changed notification)`)
  }
}
