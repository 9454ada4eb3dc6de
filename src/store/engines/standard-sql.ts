import { sql, type Expression, type ExpressionBuilder, type Kysely, type SelectQueryBuilder, type SqlBool } from 'kysely'
import type { DB } from '../schema.js'
import type { Claim, Column, Engine, Returned, Table, UpdateReturning } from './engine.js'

/**
 * The primitives SQLite and PostgreSQL share: `ON CONFLICT … DO UPDATE` with `excluded.`, and
 * `UPDATE … RETURNING` as one statement. `rowLocks` adds `FOR UPDATE [SKIP LOCKED]`
 * (PostgreSQL); SQLite has one writer, so it needs none.
 */
export function standardSql(rowLocks: boolean): Pick<Engine, 'upsert' | 'insertIgnore' | 'updateReturning' | 'claim' | 'selectForUpdate'> {
  return {
    upsert: (insert, key, set) =>
      insert.onConflict((oc) => oc.columns(key).doUpdateSet(set((column) => sql.ref<never>(`excluded.${column}`)) as never)),

    insertIgnore: (insert, key) => insert.onConflict((oc) => oc.columns(key as never).doNothing()),

    async updateReturning<T extends Table, C extends Column<T>>(db: Kysely<DB>, spec: UpdateReturning<T, C>): Promise<Returned<T, C>[]> {
      const rows = await loose(db).updateTable(spec.table as string).set(looseSet(spec.set)).where(looseWhere(spec.where)).returning(spec.returning).execute()
      return rows as Returned<T, C>[]
    },

    async claim<T extends Table, C extends Column<T>>(db: Kysely<DB>, spec: Claim<T, C>): Promise<Returned<T, C>[]> {
      const key: readonly string[] = spec.key
      const [first, second] = key
      if (first === undefined || key.length > 2) throw new Error('claim needs a key of one or two columns')
      const q = loose(db)
      const candidates = spec.orderBy.reduce((s, column) => s.orderBy(column), q.selectFrom(spec.table as string).select([...key]).where(looseWhere(spec.where))).limit(spec.limit)
      const locked = rowLocks ? candidates.forUpdate().skipLocked() : candidates
      const rows = await q.updateTable(spec.table as string).set(looseSet(spec.set))
        .where((eb) => (second === undefined ? eb(first, 'in', locked) : eb(eb.refTuple(first, second), 'in', locked as never)))
        .returning(spec.returning).execute()
      return rows as Returned<T, C>[]
    },

    async selectForUpdate<T extends Table, C extends Column<T>>(db: Kysely<DB>, table: T, columns: readonly C[], where: UpdateReturning<T, C>['where']) {
      const q: SelectQueryBuilder<LooseDB, string, object> = loose(db).selectFrom(table as string).select(columns).where(looseWhere(where))
      return (await (rowLocks ? q.forUpdate() : q).executeTakeFirst()) as Returned<T, C> | undefined
    },
  }
}

/** The store's Kysely with table and column names as plain strings, for statements built from specs. */
export type LooseDB = Record<string, Record<string, unknown>>

export function loose(db: Kysely<DB>): Kysely<LooseDB> {
  return db as unknown as Kysely<LooseDB>
}

type LooseWhere = (eb: ExpressionBuilder<LooseDB, string>) => Expression<SqlBool>

export function looseWhere<T extends Table>(where: (eb: ExpressionBuilder<DB, T>) => Expression<SqlBool>): LooseWhere {
  return where as unknown as LooseWhere
}

export function looseSet(set: object): Record<string, unknown> {
  return set as Record<string, unknown>
}

/** Runs `fn` on one connection: the transaction's own, or one taken from the pool for the while. */
export function onOneConnection<R>(db: Kysely<DB>, fn: (conn: Kysely<DB>) => Promise<R>): Promise<R> {
  return db.isTransaction ? fn(db) : db.connection().execute(fn)
}
