import type { Socket } from 'node:net';

/** Small socket helpers shared by the listening peer's sides. */

/** `address:port` of the other end, for logs (`?` for a part Node no longer knows). */
export function remoteOf(s: Socket): string {
  return `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}`;
}

/**
 * Writes a last protocol line and closes the connection once it is flushed (an `error` line before
 * the close). A connection destroyed right after `end()` could lose the line.
 */
export function endWith(socket: Socket, line: string): void {
  if (socket.destroyed) return;
  socket.end(line, () => socket.destroy());
}
