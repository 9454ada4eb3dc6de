import type { Socket } from 'node:net'
import type WebSocket from 'ws'

/**
 * Holds the socket's writes until the end of this tick, so the frames sent in it (a commit's
 * pushes and acks, a CoreApp's sends, a phone's receipt and ack) leave in one write. Every
 * frame used to be a writev of its own: a fifth of the network's CPU under load.
 */
export function writeAtTickEnd(ws: WebSocket): void {
  // ws keeps the TCP socket private; cork and uncork are all that is used of it
  const socket = (ws as unknown as { _socket?: Socket | null })._socket
  // ws corks only around one frame and uncorks at once: corked here means this tick's cork is set
  if (!socket || socket.destroyed || socket.writableCorked > 0) return
  socket.cork()
  process.nextTick(() => socket.uncork())
}
