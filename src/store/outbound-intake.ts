import { BatchWriter } from './batch-writer.js'
import type { OutboundMessage } from './messages.js'
import type { Store } from './store.js'

/**
 * Group commit for accepted outbound messages: requests arriving in one event-loop turn are
 * inserted by one multi-row statement (atomic by itself, one commit), so the API holds the
 * single SQLite connection once per batch. Each request is answered only after its row is
 * committed; a bad row fails only its own request.
 */
export function outboundIntake(store: Store, maxBatch = 200): BatchWriter<OutboundMessage> {
  // 15 columns × 200 rows stays far below SQLite's 32,766 and PostgreSQL's 65,535 parameters
  return new BatchWriter((messages) => store.messages.insertOutbound(messages), { maxBatch })
}
