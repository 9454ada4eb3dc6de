import type { CoreBridge } from '../domain/bridge.js'

export type BridgeMethod = keyof CoreBridge

/**
 * Every CoreBridge call and which node answers it: `registrar`, the primary master (a
 * registration keeps state between the code request and the verification, so one node does
 * both), or `owner`, a node holding one of the number's shards. A string record, so that a
 * method added to the contract is added here once and the transports follow.
 */
export const BRIDGE_METHODS: Readonly<Record<string, 'registrar' | 'owner'>> = {
  requestCode: 'registrar',
  verify: 'registrar',
  setShards: 'registrar',
  setPin: 'owner',
  markRead: 'owner',
  checkContacts: 'owner',
  resolveUserId: 'owner',
  templates: 'owner',
  manageTemplates: 'owner',
}

export function isBridgeMethod(name: unknown): name is BridgeMethod {
  return typeof name === 'string' && Object.hasOwn(BRIDGE_METHODS, name)
}

/** A CoreBridge whose every method calls `call(method, args)`. */
export function bridgeOver(call: (method: BridgeMethod, args: unknown[]) => Promise<unknown>): CoreBridge {
  return Object.fromEntries(Object.keys(BRIDGE_METHODS).map((method) => [method, (...args: unknown[]) => call(method as BridgeMethod, args)])) as unknown as CoreBridge
}

/** The internal RPC path. */
export const RPC_PATH = '/internal/bridge'
