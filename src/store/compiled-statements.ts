import { sql, type Compilable, type CompiledQuery, type Kysely, type QueryResult } from 'kysely'
import type { EngineName } from './engines/engine.js'
import type { DB } from './schema.js'
import { statementChunks } from './statement-chunks.js'

type Executor = Pick<Kysely<DB>, 'executeQuery'>

const compiled = new Map<string, CompiledQuery>()

/**
 * Runs a hot statement whose SQL depends only on its shape (the statement and its row or id
 * count): Kysely builds and compiles it the first time, later runs reuse that SQL with new
 * `parameters`. Under load a group commit writes thousands of rows, and building them as
 * Kysely nodes cost more CPU than the database spent on them. `parameters` are the values in
 * the order the compiled statement binds them; the first run checks that order against
 * Kysely's, so a statement whose values are listed in another order fails at once.
 */
export async function runCompiled<R>(db: Executor, engine: EngineName, shape: string, build: () => Compilable<R>, parameters: readonly unknown[]): Promise<QueryResult<R>> {
  const key = `${engine}|${shape}`
  let query = compiled.get(key) as CompiledQuery<R> | undefined
  if (!query) {
    query = build().compile()
    const built = query.parameters
    if (built.length !== parameters.length || built.some((p, i) => p !== parameters[i])) {
      throw new Error(`the parameters of statement ${shape} are not in the order its SQL binds them`)
    }
    compiled.set(key, query)
    return db.executeQuery(query as CompiledQuery<R>)
  }
  return db.executeQuery({ ...query, parameters } as CompiledQuery<R>)
}

/**
 * A multi-row INSERT through `runCompiled`: every row has the same columns in the same order,
 * so the parameters are the rows' values one row after the other.
 */
export function insertCompiled<Row extends Record<string, unknown>>(db: Executor, engine: EngineName, shape: string, rows: readonly Row[], build: (rows: readonly Row[]) => Compilable<unknown>): Promise<QueryResult<unknown>> {
  const columns = Object.keys(rows[0] ?? {})
  const parameters: unknown[] = []
  for (const row of rows) for (const column of columns) parameters.push(row[column])
  return runCompiled(db, engine, `${shape}:${rows.length}`, () => build(rows), parameters)
}

/** PostgreSQL array types of the columns a bulk insert writes, by column name. */
export type ColumnArrayTypes<Row> = { readonly [K in keyof Row]: 'text' | 'bytea' | 'integer' | 'bigint' }

/** Whether `insertRows` writes any number of rows with one statement (a transaction of its own). */
export const insertsInOneStatement = (engine: EngineName): boolean => engine === 'postgres'

/**
 * Inserts rows in as few statements as the engine allows. PostgreSQL gets one statement for
 * any number of rows, `INSERT … SELECT * FROM unnest($1::text[], …)` with an array per
 * column: one SQL text, one round trip, a fixed parameter count. The other engines get
 * multi-row VALUES (`build`) in parts of 2^k rows, at most `max`.
 */
export async function insertRows<Row extends Record<string, unknown>>(db: Kysely<DB>, engine: EngineName, shape: string, rows: readonly Row[], types: ColumnArrayTypes<Row>, opts: {
  table: string
  max: number
  build: (rows: readonly Row[]) => Compilable<unknown>
}): Promise<void> {
  if (rows.length === 0) return
  if (!insertsInOneStatement(engine)) {
    for (const part of statementChunks(rows, opts.max)) await insertCompiled(db, engine, shape, part, opts.build)
    return
  }
  const columns = Object.keys(types) as (keyof Row & string)[]
  const arrays = columns.map((c) => rows.map((r) => r[c] ?? null))
  // the statement is built only the first time its shape runs: its text is the same for any rows
  const build = (): Compilable<unknown> => ({
    compile: () => sql`insert into ${sql.table(opts.table)} (${sql.join(columns.map((c) => sql.ref(c)))}) select * from unnest(${sql.join(columns.map((c, i) => sql`${arrays[i]}::${sql.raw(`${types[c]}[]`)}`))})`.compile(db),
  })
  await runCompiled(db, engine, `${shape}:unnest`, build, arrays)
}
