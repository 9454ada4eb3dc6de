import type SQLite from 'better-sqlite3'
import type { SqliteDatabase } from 'kysely'

/**
 * Kysely's SQLite driver prepares every query anew; wabox runs a fixed set of queries
 * thousands of times a second, so prepared statements are reused by SQL text (the relay
 * measured ~1.8× more inserts/s; in the business store preparing was 9 % of CPU). A cached
 * statement still being iterated (a streamed query) is busy, so streaming gets a fresh one.
 * Shared by the business store and the network's own database.
 */
export function withStatementCache(sqlite: SQLite.Database, max = 500): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>()
  return {
    close: () => sqlite.close(),
    prepare: (sql: string) => {
      let stmt = cache.get(sql)
      if (stmt?.busy) return sqlite.prepare(sql)
      if (!stmt) {
        stmt = sqlite.prepare(sql)
        // multi-row inserts have many distinct SQL texts; keep the cache bounded
        if (cache.size >= max) cache.delete(cache.keys().next().value!)
        cache.set(sql, stmt)
      }
      return stmt
    },
  }
}
