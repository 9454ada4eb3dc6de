import type { Logger } from 'pino'
import { DEFAULT_TUNING } from '../../coreapp/index.js'
import type { NodeKind } from '../../store/nodes.js'
import type { Store } from '../../store/store.js'

export interface NodeBeat {
  /** Stops beating and leaves the registry at once. */
  stop(): Promise<void>
}

/**
 * The heartbeat of a process that has none of its own (a CoreApp of a cluster beats as it
 * renews its leases): `wabox webapp`, `wabox webhooks` and both threads of `wabox start`. Each
 * beat adopts a staged master key first and reports the key the process seals with, which is
 * what `wabox keys rotate-master` waits on. The first beat is done when this resolves.
 */
export async function startNodeBeat(store: Store, node: { id: string; kind: NodeKind }, logger: Logger, intervalMs = DEFAULT_TUNING.leaseRenewMs): Promise<NodeBeat> {
  let beating: Promise<void> | undefined
  // a beat still waiting on the database counts for this interval too: queued behind it, one
  // per interval of a database freeze, they would hold stop() for a bound each
  const beat = () => {
    beating ??= store.nodes.heartbeat(node).catch((err: unknown) => {
      logger.warn({ err, node: node.id }, 'the node heartbeat failed')
    }).finally(() => {
      beating = undefined
    })
    return beating
  }
  await beat()
  const timer = setInterval(() => void beat(), intervalMs)
  timer.unref()
  return {
    async stop() {
      clearInterval(timer)
      await beating
      await store.nodes.remove(node.id).catch((err: unknown) => logger.warn({ err, node: node.id }, 'leaving the node registry failed'))
    },
  }
}
