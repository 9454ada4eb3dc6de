import type { PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'
import { notFound } from '../errors.js'

/**
 * Marks an inbound message of this number as read: the CoreApp sends the read receipt to the
 * sender (and with it, the earlier messages of the chat count as read); with `typing`, the
 * sender also sees the business typing (Cloud's typing indicator). 1006 for an id that is not an
 * inbound message of this number.
 */
export async function markRead(ctx: WebContext, number: PhoneNumberRow, messageId: string, opts: { typing?: boolean } = {}): Promise<void> {
  const row = await ctx.store.messages.get(messageId)
  if (!row || row.phone_number_id !== number.id || row.direction !== 'in') {
    throw notFound(`No inbound message with id '${messageId}' for this number`)
  }
  if (opts.typing) await ctx.deps.bridge.markRead(number.id, messageId, { typing: true })
  else await ctx.deps.bridge.markRead(number.id, messageId)
}
