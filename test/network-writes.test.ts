import { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { ContactsCheckResult } from '../src/wire/frames.js'
import { Harness } from './network-harness.js'

let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

/** Counts the writes handed to the kernel, on both ends, by sockets of the network's port. */
async function writesDuring(port: number, work: () => Promise<unknown>): Promise<number> {
  const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (this: Socket, ...args: unknown[]) => void>
  const original = { _write: proto._write, _writev: proto._writev }
  let writes = 0
  for (const name of ['_write', '_writev'] as const) {
    proto[name] = function (this: Socket, ...args: unknown[]) {
      if (this.remotePort === port || this.localPort === port) writes++
      original[name].apply(this, args)
    }
  }
  try {
    await work()
  } finally {
    Object.assign(proto, original)
  }
  return writes
}

describe('network writes', () => {
  it('sends the frames of one tick in one write: requests from the client, their acks from the server', async () => {
    h = await Harness.start()
    const phone = await h.connect(await h.register('1', '5550001'))
    const port = Number(new URL(h.server.url).port)
    const requests = 20
    let results: ContactsCheckResult[] = []
    const writes = await writesDuring(port, async () => {
      results = await Promise.all(Array.from({ length: requests }, (_, i) => phone.request<ContactsCheckResult>({ t: 'contacts.check', phones: [`+1 555 000 ${i}`] })))
    })
    expect(results.map((r) => r.results[0]?.phone)).toEqual(Array.from({ length: requests }, (_, i) => `+1 555 000 ${i}`))
    // one write of 20 requests, one of 20 acks; the server may read the requests in two parts
    expect(writes).toBeGreaterThanOrEqual(2)
    expect(writes).toBeLessThanOrEqual(4)
  })
})
