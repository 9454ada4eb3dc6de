import type { BridgeRouter } from '../../rpc/bridge-client.js'
import type { Store } from '../../store/store.js'

/** Name of the internal RPC's bearer token among the deployment's shared secrets. */
export const RPC_SECRET = 'internal_rpc'

/**
 * Routes a WebApp's bridge calls: a number's calls to the CoreApps holding its shards, then
 * the others; registration and shard changes to the primary master, then the secondary.
 */
export function clusterRouter(store: Store, unhealthyMs: number): BridgeRouter {
  return async (phoneNumberId, to) => {
    const live = (await store.nodes.live('coreapp', unhealthyMs)).flatMap((n) => (n.rpcUrl ? [n.rpcUrl] : []))
    if (to === 'registrar') return live
    const owners = (await store.nodes.routes(phoneNumberId)).flatMap((r) => (r.rpcUrl ? [r.rpcUrl] : []))
    return [...new Set([...owners, ...live])]
  }
}
