import type { Socket } from 'node:net';

/** Small socket helpers shared by the listening peer's sides. */

/** `address:port` of the other end, for logs (`?` for a part Node no longer knows). */
export function remoteOf(s: Socket): string {
  return `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}`;
}

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

/**
 * Writes a last protocol line and closes the connection once it is flushed (an `error` line before
 * the close). A connection destroyed right after `end()` could lose the line.
 */
export function endWith(socket: Socket, line: string): void {
  if (socket.destroyed) return;
  socket.end(line, () => socket.destroy());
}
