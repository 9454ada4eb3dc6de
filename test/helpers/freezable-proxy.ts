import net from 'node:net'

export interface FreezableProxy {
  port: number
  /** Nothing passes either way any more, and new connections are accepted but never served: a peer under SIGSTOP. */
  freeze(): void
  /** Traffic flows again, what was held back first. */
  thaw(): void
  close(): Promise<void>
}

/** A TCP proxy to a local port that can be frozen, to show what a client does when its server stops answering. */
export async function startFreezableProxy(targetPort: number): Promise<FreezableProxy> {
  let frozen = false
  const pairs = new Set<[net.Socket, net.Socket]>()
  const flow = ([a, b]: [net.Socket, net.Socket]) => {
    a.pipe(b)
    b.pipe(a)
  }
  const hold = ([a, b]: [net.Socket, net.Socket]) => {
    a.unpipe(b)
    b.unpipe(a)
    a.pause()
    b.pause()
  }
  const server = net.createServer((client) => {
    const pair: [net.Socket, net.Socket] = [client, net.connect({ host: '127.0.0.1', port: targetPort })]
    pairs.add(pair)
    const end = () => {
      pairs.delete(pair)
      pair.forEach((s) => s.destroy())
    }
    pair.forEach((s) => s.on('error', end).on('close', end))
    if (frozen) hold(pair)
    else flow(pair)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => {
      frozen = true
      pairs.forEach(hold)
    },
    thaw: () => {
      frozen = false
      pairs.forEach(flow)
    },
    close: () => new Promise((resolve) => {
      server.close(() => resolve())
      pairs.forEach((pair) => pair.forEach((s) => s.destroy()))
    }),
  }
}
