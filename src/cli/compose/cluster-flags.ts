import os from 'node:os'
import { InvalidArgumentError, type Command } from 'commander'
import type { Config } from '../../config/config.js'
import { DEFAULT_TUNING } from '../../coreapp/index.js'
import { usageError } from '../cli-error.js'

/** On-Prem's names for the liveness timing, in seconds. */
export interface ClusterTiming {
  heartbeatMs: number
  unhealthyMs: number
}

/** Flags every node of a multi-process deployment takes. */
export function withClusterFlags(cmd: Command): Command {
  return cmd
    .option('--node-id <id>', 'this node in the registry and in shard leases; unique per running process (default: host name and pid)')
    .option('--heartbeat-interval <s>', `seconds between a CoreApp's heartbeats (lease renewals) (default ${DEFAULT_TUNING.leaseRenewMs / 1000})`, seconds)
    .option('--unhealthy-interval <s>', `seconds without a heartbeat before a CoreApp's shards move to another (default ${DEFAULT_TUNING.leaseTtlMs / 1000})`, seconds)
}

export function clusterTiming(flags: { heartbeatInterval?: number; unhealthyInterval?: number }): ClusterTiming {
  const heartbeatMs = (flags.heartbeatInterval ?? DEFAULT_TUNING.leaseRenewMs / 1000) * 1000
  const unhealthyMs = (flags.unhealthyInterval ?? DEFAULT_TUNING.leaseTtlMs / 1000) * 1000
  // a lease must be renewed at least twice before it runs out, or a busy node loses it
  if (unhealthyMs < 2 * heartbeatMs) throw usageError('--unhealthy-interval must be at least twice --heartbeat-interval')
  return { heartbeatMs, unhealthyMs }
}

export function nodeIdFrom(flags: { nodeId?: string }): string {
  return flags.nodeId ?? `${os.hostname()}:${process.pid}`
}

/** Processes of a deployment meet in the database: SQLite's file is one process's. */
export function requireSharedDatabase(config: Config, command: string): void {
  if (!config.databaseUrl) throw usageError(`wabox ${command} needs the deployment's database: --database-url (WABOX_DATABASE_URL)`)
}

function seconds(value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError('seconds, more than 0 and at most 3600')
  return n
}
