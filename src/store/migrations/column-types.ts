import type { Dialect } from '../database.js'

/**
 * Column types that differ between the engines. Frozen like the migrations that use it:
 * changing a type here would change what old migrations create.
 */
export function columnTypes(dialect: Dialect) {
  return dialect === 'sqlite'
    ? ({ blob: 'blob', time: 'integer', serial: 'integer' } as const)
    : ({ blob: 'bytea', time: 'bigint', serial: 'bigserial' } as const)
}
