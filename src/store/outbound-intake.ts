import { BatchWriter } from './batch-writer.js'
import { insertsInOneStatement } from './compiled-statements.js'
import type { OutboundMessage } from './messages.js'
import type { Store } from './store.js'

/**
 * Group commit for accepted outbound messages: requests arriving in one event-loop turn are
 * inserted by a few multi-row statements in one transaction (one commit), so the API takes the
 * database's write lock once per batch. Each request is answered only after its row is
 * committed; a bad row fails only its own request (the batch is retried row by row).
 */
export function outboundIntake(store: Store, maxBatch = 200): BatchWriter<OutboundMessage> {
  // one statement commits on its own: BEGIN and COMMIT would be two more statements. Below
  // ~1,000 msg/s most batches are one request, so on SQLite this is most of the intake's commits.
  const oneStatement = insertsInOneStatement(store.dialect)
  return new BatchWriter((messages) => (oneStatement || messages.length === 1 ? store.messages.insertOutbound(messages) : store.transaction((tx) => tx.messages.insertOutbound(messages))), { maxBatch })
}
