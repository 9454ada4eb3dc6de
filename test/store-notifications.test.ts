import net from 'node:net'
import type { Logger } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { Channel, Notifier } from '../src/store/notifications.js'
import { waitFor } from './coreapp-harness.js'

/** A loopback port nothing listens on: connections to it are refused at once. */
async function refusedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('Notifier (PostgreSQL NOTIFY between processes)', () => {
  const notifiers: Notifier[] = []
  afterEach(async () => {
    for (const n of notifiers.splice(0)) await n.close()
  })

  it('connects again for the next notification after a connect that failed', async () => {
    const failures: unknown[] = []
    const logger = { debug: (o: { err: unknown }) => failures.push(o.err), warn: () => undefined } as unknown as Logger
    const notifier = new Notifier(`postgres://postgres@127.0.0.1:${await refusedPort()}/test`, logger)
    notifiers.push(notifier)
    notifier.notify(Channel.outbound, 'pn-1')
    await waitFor(() => failures.length === 1, 'the first notification to fail')
    // a sender kept from the failed connect would take this one into a queue that never runs
    notifier.notify(Channel.outbound, 'pn-1')
    await waitFor(() => failures.length === 2, 'the second notification to fail on its own connect')
    expect(String(failures[1])).toMatch(/ECONNREFUSED/)
  })
})
