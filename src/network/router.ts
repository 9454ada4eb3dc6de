import { fnv1a32 } from '../domain/shard.js'
import type { ServerFrame } from '../wire/frames.js'
import type { InboxItem } from './relay.js'

/** What the router needs from a logged-in connection. */
export interface RoutedConnection {
  readonly waId: string
  readonly shard: number
  readonly shards: number
  offer(item: InboxItem): void
  send(frame: ServerFrame): void
  close(code: number, reason: string): void
}

interface AccountConnections {
  shards: number
  byShard: (RoutedConnection | undefined)[]
}

/**
 * Which connection serves which (wa_id, shard). Traffic with a counterparty goes to shard
 * `fnv1a32(counterparty) % shards` (the item's route_hash), so each phone's envelopes and
 * receipts reach the one CoreApp that owns that phone.
 */
export class Router {
  readonly #accounts = new Map<string, AccountConnections>()

  /** Takes over the (wa_id, shard) slot. A login with another shard count replaces every shard. */
  attach(conn: RoutedConnection, replacedCode: number): void {
    let entry = this.#accounts.get(conn.waId)
    if (entry && entry.shards !== conn.shards) {
      for (const old of entry.byShard) old?.close(replacedCode, `shard count changed to ${conn.shards}`)
      entry = undefined
    }
    if (!entry) this.#accounts.set(conn.waId, (entry = { shards: conn.shards, byShard: new Array(conn.shards).fill(undefined) }))
    entry.byShard[conn.shard]?.close(replacedCode, 'replaced by a newer login')
    entry.byShard[conn.shard] = conn
  }

  detach(conn: RoutedConnection): void {
    const entry = this.#accounts.get(conn.waId)
    if (entry?.byShard[conn.shard] !== conn) return
    entry.byShard[conn.shard] = undefined
    if (entry.byShard.every((c) => c === undefined)) this.#accounts.delete(conn.waId)
  }

  readonly deliver = (item: InboxItem): void => {
    const entry = this.#accounts.get(item.recipient)
    entry?.byShard[item.route_hash % entry.shards]?.offer(item)
  }

  /** Pushes a frame that is not stored (typing) to the connection serving `from` for `to`, if there is one now. */
  pushLive(to: string, from: string, frame: ServerFrame): boolean {
    const entry = this.#accounts.get(to)
    const conn = entry?.byShard[fnv1a32(from) % entry.shards]
    conn?.send(frame)
    return conn !== undefined
  }

  /** The lowest connected shard: where account-wide notices (keys.low) go. */
  primary(waId: string): RoutedConnection | undefined {
    return this.#accounts.get(waId)?.byShard.find((c) => c !== undefined)
  }

  connectionsOf(waId: string): RoutedConnection[] {
    return (this.#accounts.get(waId)?.byShard ?? []).filter((c) => c !== undefined)
  }
}
