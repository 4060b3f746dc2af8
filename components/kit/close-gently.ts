import type { Socket } from 'node:net';

/**
 * Ends a connection we refuse or give up on: writes `lastBytes` (an HTTP error answer, or nothing),
 * ends our side, reads and drops whatever the client still sends, and destroys the socket if the client
 * has not closed its side within `boundMs`. A plain `end()` on a half-open server socket would otherwise
 * wait for the client's FIN for as long as the client likes.
 */
export function closeGently(socket: Socket, lastBytes: string, boundMs: number): void {
  if (socket.destroyed) return;
  if (lastBytes === '') socket.end();
  else socket.end(lastBytes);
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), boundMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}
