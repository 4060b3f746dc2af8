import type { Socket } from 'node:net';
import { directReaderOf } from './direct-reader.ts';

/**
 * Pipes bytes both ways between two sockets (the public connection and its DATA connection, or the DATA
 * connection and the backend), with back-pressure, half-close passed on (`end` on one side ends the
 * other's writing), and one `done` when both have closed. An error on either side destroys both and is
 * passed to `done`. Both sockets should be created with `allowHalfOpen: true`.
 *
 * A socket dialled with `connectDirect` is read through its reader (reused buffers, see
 * direct-reader.ts); any other socket through its 'data' events. Per chunk there is one write and the
 * optional count hook, which should only add to a number (batch anything heavier).
 */

/** Callbacks of {@link splice}. */
export interface SpliceHooks {
  /** Bytes read from `a` and written to `b` (one call per read). */
  aToB?(bytes: number): void;
  /** Bytes read from `b` and written to `a` (one call per read). */
  bToA?(bytes: number): void;
  /** Both sockets closed; `error` is the first socket error, if any. */
  done?(error: Error | undefined): void;
}

/** Starts piping (resumes both sockets). */
export function splice(a: Socket, b: Socket, hooks: SpliceHooks = {}): void {
  let error: Error | undefined;
  let closed = 0;
  const forward = (from: Socket, to: Socket, count: ((n: number) => void) | undefined) => {
    const reader = directReaderOf(from);
    if (reader) reader.forwardTo(to, count);
    else {
      from.on('data', (chunk: Buffer) => {
        count?.(chunk.length);
        if (to.destroyed) return;
        if (!to.write(chunk)) from.pause();
      });
    }
    to.on('drain', () => from.resume());
    from.on('end', () => {
      if (!to.destroyed) to.end();
    });
    from.on('error', (e: Error) => {
      error ??= e;
      to.destroy();
    });
    from.on('close', () => {
      // Closed without an error (ended, or destroyed by a timeout): let the other side finish writing.
      if (error !== undefined) to.destroy();
      else if (!to.destroyed && !to.writableEnded) to.end();
      if (++closed === 2) hooks.done?.(error);
    });
  };
  forward(a, b, hooks.aToB);
  forward(b, a, hooks.bToA);
  a.resume();
  b.resume();
}
