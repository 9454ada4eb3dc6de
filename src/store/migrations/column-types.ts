import type { Dialect } from '../database.js'
import { mysqlEngine } from '../engines/mysql.js'
import { postgresEngine } from '../engines/postgres.js'
import { sqliteEngine } from '../engines/sqlite.js'

const ENGINES = { sqlite: sqliteEngine, postgres: postgresEngine, mysql: mysqlEngine }

/**
 * Column types that differ between the engines, each engine's own (see engines/engine.ts).
 * Frozen like the migrations that use them: changing a type would change what old migrations
 * create. `key` is for text that a key or an index uses.
 */
export function columnTypes(dialect: Dialect) {
  return ENGINES[dialect].columnTypes
}
