import {
  DataTypeNode, DummyDriver, Kysely, MysqlAdapter, MysqlIntrospector, MysqlQueryCompiler, RawNode,
  type AlterTableColumnAlterationNode, type ColumnDefinitionNode, type ForeignKeyConstraintNode, type KyselyPlugin, type OperationNode, type PluginTransformQueryArgs,
  type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow,
} from 'kysely'

/**
 * The frozen migrations declare ids, statuses and other keys as `text`, which MySQL cannot put
 * in a primary key, a unique key, a foreign key or an index without a prefix length. Before the
 * migrations run, a dry run compiles every one of them and collects the text columns any key or
 * index uses; this plugin then creates those columns as VARCHAR(191) (191 utf8mb4 characters fit
 * four to an index of 3072 bytes), TEXT with a default too (MySQL 8 refuses defaults on TEXT).
 * Tables get a binary collation: ids and tokens compare byte for byte, as on PostgreSQL. A
 * column's REFERENCES becomes a FOREIGN KEY of the table: MySQL before 9.0 parses a column-level
 * REFERENCES and ignores it (no constraint, no cascade); MariaDB honours both alike.
 * New migrations may say `columnTypes(dialect).key` for such columns outright.
 */
export class MysqlSchemaPlugin implements KyselyPlugin {
  readonly #keys: ReadonlySet<string>
  readonly #tableOptions: RawNode

  constructor(keyColumns: ReadonlySet<string>, collation: string) {
    this.#keys = keyColumns
    this.#tableOptions = RawNode.createWithSql(`default character set utf8mb4 collate ${collation}`)
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const node = args.node
    if (node.kind === 'CreateTableNode') {
      const table = tableName(node)
      return Object.freeze({
        ...node,
        columns: node.columns.map((c) => this.#column(table, c)),
        constraints: [...(node.constraints ?? []), ...node.columns.flatMap((c) => foreignKeyOf(c) ?? [])],
        endModifiers: [...(node.endModifiers ?? []), this.#tableOptions],
      })
    }
    if (node.kind === 'AlterTableNode' && node.columnAlterations) {
      const table = tableName(node)
      return Object.freeze({
        ...node,
        // `add column x …, add foreign key (x) …` in one statement
        columnAlterations: node.columnAlterations.flatMap((a) => {
          if (a.kind !== 'AddColumnNode') return [a]
          const foreignKey = foreignKeyOf(a.column)
          const added = Object.freeze({ ...a, column: this.#column(table, a.column) })
          return foreignKey ? [added, Object.freeze({ kind: 'AddConstraintNode', constraint: foreignKey }) as unknown as AlterTableColumnAlterationNode] : [added]
        }),
      })
    }
    return node
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result)
  }

  #column(table: string, c: ColumnDefinitionNode): ColumnDefinitionNode {
    const { references: _moved, ...column } = c
    if (!isText(c.dataType) || !(this.#keys.has(`${table}.${c.column.column.name}`) || c.defaultTo)) return Object.freeze(column)
    return Object.freeze({ ...column, dataType: DataTypeNode.create('varchar(191)') })
  }
}

function foreignKeyOf(c: ColumnDefinitionNode): ForeignKeyConstraintNode | undefined {
  return c.references && Object.freeze({ kind: 'ForeignKeyConstraintNode', columns: [c.column], references: c.references })
}

/** Runs `steps` against a connection-less MySQL Kysely and returns the `table.column`s any key or index uses. */
export async function collectKeyColumns(steps: (db: Kysely<unknown>) => Promise<void>): Promise<Set<string>> {
  const keys = new Set<string>()
  const collector: KyselyPlugin = {
    transformQuery: (args) => {
      collectKeys(args.node, keys)
      return args.node
    },
    transformResult: (args) => Promise.resolve(args.result),
  }
  const dry = new Kysely<unknown>({
    dialect: {
      createAdapter: () => new MysqlAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new MysqlIntrospector(db),
      createQueryCompiler: () => new MysqlQueryCompiler(),
    },
    plugins: [collector],
  })
  await steps(dry)
  await dry.destroy()
  return keys
}

function collectKeys(node: RootOperationNode, keys: Set<string>): void {
  const add = (table: string, columns: readonly OperationNode[]) => {
    for (const c of columns) {
      const name = columnName(c)
      if (name) keys.add(`${table}.${name}`)
    }
  }
  const fromColumn = (table: string, c: ColumnDefinitionNode) => {
    if (c.primaryKey || c.unique || c.references) keys.add(`${table}.${c.column.column.name}`)
    // the referenced column is a key of its own table
    if (c.references) add(c.references.table.table.identifier.name, c.references.columns)
  }
  if (node.kind === 'CreateTableNode') {
    const table = tableName(node)
    for (const c of node.columns) fromColumn(table, c)
    for (const k of node.constraints ?? []) {
      if (k.kind === 'PrimaryKeyConstraintNode' || k.kind === 'UniqueConstraintNode' || k.kind === 'ForeignKeyConstraintNode') add(table, k.columns)
    }
  } else if (node.kind === 'AlterTableNode') {
    const table = tableName(node)
    for (const a of node.columnAlterations ?? []) if (a.kind === 'AddColumnNode') fromColumn(table, a.column)
    const k = node.addConstraint?.constraint
    if (k && (k.kind === 'PrimaryKeyConstraintNode' || k.kind === 'UniqueConstraintNode' || k.kind === 'ForeignKeyConstraintNode')) add(table, k.columns)
  } else if (node.kind === 'CreateIndexNode' && node.table) {
    add(node.table.table.identifier.name, node.columns ?? [])
  }
}

function tableName(node: { table: { table: { identifier: { name: string } } } }): string {
  return node.table.table.identifier.name
}

function columnName(node: OperationNode): string | undefined {
  if (node.kind === 'ColumnNode') return (node as unknown as { column: { name: string } }).column.name
  // `createIndex(...).column('x desc')` and the like
  if (node.kind === 'OrderByItemNode') return columnName((node as unknown as { orderBy: OperationNode }).orderBy)
  if (node.kind === 'ReferenceNode') return columnName((node as unknown as { column: OperationNode }).column)
  return undefined
}

function isText(dataType: OperationNode): boolean {
  return DataTypeNode.is(dataType) && dataType.dataType === 'text'
}
