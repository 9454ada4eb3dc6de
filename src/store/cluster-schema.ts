/** Tables of the node registry (migration 0010). */
export interface NodeTable {
  id: string
  /** 'coreapp' | 'webapp' | 'webhooks' */
  kind: string
  /** Internal RPC of a CoreApp: `http://host:port`. */
  rpc_url: string | null
  started_at: number
  heartbeat_at: number
  /** Id of the master key the node seals with (0012); null before its first beat after the upgrade. */
  sealing_key_id: string | null
}

export interface ClusterSecretTable {
  name: string
  value: Buffer
}

export interface ClusterTables {
  nodes: NodeTable
  cluster_secrets: ClusterSecretTable
}
