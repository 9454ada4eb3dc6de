import { Type, type TUnsafe } from '@sinclair/typebox'

/**
 * An enum as JSON Schema `enum` (not a union of literals), so a validation error can list the
 * allowed values instead of "must be equal to constant".
 */
export function oneOf<T extends string | number>(values: readonly T[], extra: object = {}): TUnsafe<T> {
  return Type.Unsafe<T>({ type: typeof values[0] === 'number' ? 'integer' : 'string', enum: [...values], ...extra })
}
