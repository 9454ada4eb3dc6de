/** On-Prem's node roles in a multi-node deployment. */
export type NodeRole = 'primary_master' | 'secondary_master' | 'coreapp'

/**
 * The role of the CoreApp at `rank` among the live ones ordered by node id: the lowest is the
 * primary master (it registers numbers and changes shard counts), the next the secondary,
 * which takes over when the primary stops beating.
 */
export function nodeRole(rank: number): NodeRole {
  return rank === 0 ? 'primary_master' : rank === 1 ? 'secondary_master' : 'coreapp'
}
