import type { Kysely } from 'kysely'
import type { Dialect } from '../database.js'
import { columnTypes } from './column-types.js'

// Frozen: never edit a released migration; add a new one instead.
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const t = columnTypes(dialect)
  // The processes of a deployment (CoreApps, WebApps, dispatchers): each writes its heartbeat
  // here; a CoreApp also its internal RPC address, where WebApps send the synchronous calls.
  await db.schema.createTable('nodes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('rpc_url', 'text')
    .addColumn('started_at', t.time, (c) => c.notNull())
    .addColumn('heartbeat_at', t.time, (c) => c.notNull())
    .execute()
  // Secrets every node of the deployment shares (the internal RPC's bearer token), sealed.
  await db.schema.createTable('cluster_secrets')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', t.blob, (c) => c.notNull())
    .execute()
}
