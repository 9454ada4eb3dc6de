import { Agent, request } from 'undici'
import type { CoreBridge } from '../domain/bridge.js'
import { OnPremCode, WaboxError } from '../errors/index.js'
import { BRIDGE_METHODS, bridgeOver, RPC_PATH, type BridgeMethod } from './bridge-methods.js'
import { fromRemoteError, type RemoteError } from './remote-error.js'

/**
 * Where a call for a number goes, best first: `owner` (a node holding one of the number's
 * shards), `registrar` (the primary master, which registers numbers and changes shard counts).
 */
export type BridgeRouter = (phoneNumberId: string, to: 'registrar' | 'owner') => Promise<string[]>

export interface HttpBridgeOptions {
  route: BridgeRouter
  /** The deployment's shared RPC secret. */
  secret: () => Promise<string>
  /** Longest wait for an answer; the CoreApp itself gives up on the network after 20 s. */
  timeoutMs?: number
}

/** A node that cannot be reached: the next candidate is tried. */
class Unreachable extends Error {}

/**
 * The CoreBridge of a WebApp in its own process: each call goes over HTTP (keep-alive) to the
 * CoreApp the router names. A node that does not answer is skipped; with none left the call
 * fails with 1018 "Not Primary Coreapp", which a client retries, as On-Prem's during failover.
 */
export function httpBridge(opts: HttpBridgeOptions): CoreBridge & { close(): Promise<void> } {
  const timeoutMs = opts.timeoutMs ?? 30_000
  const agent = new Agent({ keepAliveTimeout: 30_000, connect: { timeout: 2_000 }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })

  async function post(url: string, secret: string, method: BridgeMethod, args: unknown[]): Promise<unknown> {
    let res
    try {
      res = await request(url + RPC_PATH, {
        dispatcher: agent,
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ method, args }),
      })
    } catch (err) {
      throw new Unreachable(`${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
    }
    const body = (await res.body.json()) as { value?: unknown; error?: RemoteError }
    if (res.statusCode !== 200) throw new Error(`the CoreApp at ${url} refused the call ${method}: ${res.statusCode} ${JSON.stringify(body)}`)
    if (body.error) throw fromRemoteError(body.error)
    return body.value
  }

  async function call(method: BridgeMethod, args: unknown[]): Promise<unknown> {
    const phoneNumberId = args[0] as string
    const targets = await opts.route(phoneNumberId, BRIDGE_METHODS[method] ?? 'owner')
    const secret = await opts.secret()
    const failures: string[] = []
    for (const url of targets) {
      try {
        return await post(url, secret, method, args)
      } catch (err) {
        if (!(err instanceof Unreachable)) throw err
        failures.push(err.message)
      }
    }
    throw new WaboxError(OnPremCode.NOT_PRIMARY_COREAPP,
      targets.length === 0 ? 'no CoreApp serves this number right now (failover in progress?): retry shortly' : `no CoreApp answered (${failures.join('; ')}): retry shortly`)
  }

  return Object.assign(bridgeOver(call), { close: () => agent.close() })
}
