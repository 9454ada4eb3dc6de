import net from 'node:net'

/** Runs a startup step; its failure becomes the error `explain` makes of it. */
export async function explained<T>(step: () => Promise<T>, explain: (err: unknown) => Error): Promise<T> {
  try {
    return await step()
  } catch (err) {
    throw explain(err)
  }
}

/** Listens on `host:port` and closes again: throws what the real listen would. */
export async function canListen(host: string, port: number): Promise<void> {
  const probe = net.createServer()
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject)
    probe.listen({ host, port, exclusive: true }, resolve)
  })
  await new Promise<void>((resolve) => probe.close(() => resolve()))
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve(signal)
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}

/** What a long-running command started: closed in reverse order. */
interface Closer {
  add(name: string, close: () => Promise<void>): void
  close(): Promise<void>
  abort(onError: (name: string, err: unknown) => void): Promise<void>
}

/**
 * Runs a node until SIGINT/SIGTERM: `start` adds what it starts to `teardown` and returns the
 * line for the person at the terminal (stderr: stdout stays log lines). A failed start closes
 * what it had started and throws.
 */
export async function serveUntilSignal(
  teardown: Closer,
  logger: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void },
  start: () => Promise<string>,
): Promise<void> {
  let ready: string
  try {
    ready = await start()
  } catch (err) {
    await teardown.abort((part, closeErr) => logger.warn({ err: closeErr, part }, 'closing after a failed start failed'))
    throw err
  }
  console.error(ready)
  const signal = await untilSignal()
  logger.info({ signal }, 'stopping')
  await teardown.close()
}
