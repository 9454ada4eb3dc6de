import { AsyncLocalStorage } from 'node:async_hooks'
import { DatabaseUnavailableError } from '../../errors/index.js'

/**
 * How long a statement may go unanswered before its connection is given up. A server that is
 * frozen (SIGSTOP, a paused VM) or cut off keeps the connection open and never answers, and
 * the drivers would wait forever. 30 s is hundreds of times what a statement of wabox takes
 * (batches of a few hundred rows, retention batches), and an API request that meets a freeze
 * is still answered before its client's socket idles out (60 s). Migrations run without it.
 */
export const STATEMENT_TIMEOUT_MS = 30_000

/**
 * How long to wait for a connection: a free one of the pool, or a new one whose server must
 * complete the handshake. A server that answers at all does so in milliseconds; 10 s is also
 * what the start-up check allows.
 */
export const ACQUIRE_TIMEOUT_MS = 10_000

export interface DatabaseBounds {
  /** Longest wait for one statement's answer; 0: none. */
  statementMs: number
  /** Longest wait for a connection. */
  acquireMs: number
}

export function databaseBounds(options: { statementTimeoutMs?: number | undefined; acquireTimeoutMs?: number | undefined }): DatabaseBounds {
  return { statementMs: options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS, acquireMs: options.acquireTimeoutMs ?? ACQUIRE_TIMEOUT_MS }
}

const unbounded = new AsyncLocalStorage<true>()

/**
 * Runs `fn` with statements that take as long as they need: a migration may rewrite a large
 * table, or wait on the lock of another node's migration. Connecting stays bounded.
 */
export function withoutStatementBound<T>(fn: () => Promise<T>): Promise<T> {
  return unbounded.run(true, fn)
}

/** The statement bound in force for a statement starting now (0: none). */
export function statementBound(bounds: DatabaseBounds): number {
  return unbounded.getStore() ? 0 : bounds.statementMs
}

/**
 * Calls `onTimeout` (which gives the connection up) and fails with a DatabaseUnavailableError
 * if `work` has not settled after `ms`; whatever `work` does later is ignored.
 */
export function within<T>(work: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  if (ms <= 0) return work
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout()
      reject(new DatabaseUnavailableError(`the database did not answer ${what} within ${ms} ms`))
    }, ms)
    work.then((value) => {
      clearTimeout(timer)
      resolve(value)
    }, (err: unknown) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}

/**
 * Connections opened before a statement timed out lead to the same silent server: each would
 * make its next caller wait out the bound too, so the pool's users skip them.
 */
export class Retirement<C extends object> {
  readonly #born = new WeakMap<C, number>()
  #opened = 0
  #retiredUpTo = 0

  opened(connection: C): void {
    this.#born.set(connection, ++this.#opened)
  }

  retireAll(): void {
    this.#retiredUpTo = this.#opened
  }

  isRetired(connection: C): boolean {
    const born = this.#born.get(connection)
    return born !== undefined && born <= this.#retiredUpTo
  }
}

/**
 * Runs `end` (closing a pool), closing `sockets` by force if it has not finished within `ms`:
 * a pool ends its connections by waiting for the server's goodbye, which a frozen server
 * never sends, so a shutdown during a freeze would never finish.
 */
export async function endWithin(end: () => Promise<void>, ms: number, sockets: () => Iterable<{ destroy(): void } | undefined>): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const forced = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      for (const socket of sockets()) socket?.destroy()
      resolve()
    }, ms)
  })
  try {
    await Promise.race([end(), forced])
  } finally {
    clearTimeout(timer)
  }
}
