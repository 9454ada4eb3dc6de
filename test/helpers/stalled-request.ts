import net from 'node:net'

/**
 * Sends a request that promises 100 body bytes and sends 10, then stalls, as a frozen client
 * would. Resolves with what the server wrote once it closes the socket, or `undefined` if it
 * still holds it after `giveUpMs`.
 */
export function stalledRequest(port: number, path: string, giveUpMs: number, headers: Record<string, string> = {}): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let answer = ''
    const giveUp = setTimeout(() => {
      socket.destroy()
      resolve(undefined)
    }, giveUpMs)
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => (answer += chunk))
    // a reset after the answer is a close too: 'close' follows
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearTimeout(giveUp)
      resolve(answer)
    })
    const head = Object.entries({ 'content-type': 'application/octet-stream', ...headers }).map(([name, value]) => `${name}: ${value}\r\n`).join('')
    socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${head}Content-Length: 100\r\n\r\n0123456789`)
  })
}
