/**
 * The database did not answer within a bound, could not be reached, or its connection broke
 * (the store's engines throw it). The work may be tried again later; a statement that was sent
 * may still have been applied.
 */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError'
  readonly code = 'WABOX_DATABASE_UNAVAILABLE'
}

/** `err` or one of its causes is a DatabaseUnavailableError. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof DatabaseUnavailableError) return true
  }
  return false
}
