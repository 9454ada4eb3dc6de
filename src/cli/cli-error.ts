/**
 * A failure the user can act on. `message` is the one line `wabox` prints: what went wrong
 * and what to do about it. Exit code 2 for a command line that cannot work, 1 for the rest.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, 2)
}

/** The line printed for any error: a CliError's message, else the error's own, on one line. */
export function errorLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.replace(/\s*\n\s*/g, ' ').trim()
}

/** The innermost error with a code (Node and driver errors carry one), else `err` itself. */
export function codedCause(err: unknown): Error & { code?: string } {
  let at: unknown = err
  for (let depth = 0; at instanceof Error && depth < 5; depth++) {
    if (typeof (at as { code?: unknown }).code === 'string') return at as Error & { code: string }
    at = at.cause
  }
  return err instanceof Error ? err : new Error(String(err))
}
