import type { Socket } from 'node:net';
import { directReaderOf, type DirectReader } from './direct-reader.ts';

/**
 * Pipes bytes both ways between two sockets (the public connection and its DATA connection, or the DATA
 * connection and the backend), with back-pressure, half-close passed on (`end` on one side ends the
 * other's writing), and one `done` when both have closed. An error on either side destroys both and is
 * passed to `done`. Both sockets should be created with `allowHalfOpen: true`, and neither may have
 * emitted 'close' yet. A socket that already emitted 'end' (a paused socket still reads its FIN and
 * emits 'end' when nothing is buffered) counts as ended from the start: its FIN is passed on at once.
 *
 * Two bounds keep a tunnel from outliving its use: a socket idle for `idleTimeoutMs` destroys both; and
 * once one side has ended (or closed), the other must end too, or move a byte, within
 * `halfCloseTimeoutMs`, else both are destroyed. Without the second, a peer that never answers a FIN (a
 * backend that never accepted, a client gone without a trace) held both sockets in FIN-WAIT-2 and
 * CLOSE-WAIT, and the tunnel counted active (`ops_proxy_connections_active`,
 * `trc_edge_concurrent_connections`), until the idle timeout or forever.
 *
 * A socket dialled with `connectDirect`, or given a reader in `readers`, is read through its reader
 * (reused buffers, see direct-reader.ts); any other socket through its 'data' events. Per chunk there is one write and the
 * optional count hook, which should only add to a number (batch anything heavier).
 */

/** Callbacks and bounds of {@link splice}. */
export interface SpliceHooks {
  /** Bytes read from `a` and written to `b` (one call per read). */
  aToB?(bytes: number): void;
  /** Bytes read from `b` and written to `a` (one call per read). */
  bToA?(bytes: number): void;
  /** Both sockets closed; `error` is the first socket error, if any. */
  done?(error: Error | undefined): void;
  /** Milliseconds without a byte read or written on one socket before both are destroyed. Default: no bound. */
  idleTimeoutMs?: number;
  /** Milliseconds after one side ended (or after the last byte moved since) for the other to end. Default: no bound. */
  halfCloseTimeoutMs?: number;
  /**
   * Readers of sockets not dialled with `connectDirect` that read through one all the same (an accepted
   * socket switched by the ops proxy's `readAcceptedDirect`): `a`'s and `b`'s.
   */
  readers?: { readonly a?: DirectReader; readonly b?: DirectReader };
}

/** Starts piping (resumes both sockets). */
export function splice(a: Socket, b: Socket, hooks: SpliceHooks = {}): void {
  let error: Error | undefined;
  let closed = 0;
  let ended = 0;
  let halfClose: NodeJS.Timeout | undefined;
  /** Both sides ended or closed: the half-close bound no longer applies. */
  let settled = false;
  const settle = () => {
    settled = true;
    clearTimeout(halfClose);
    halfClose = undefined;
  };
  const destroyBoth = () => {
    a.destroy();
    b.destroy();
  };
  // One side is done sending: from now on the other has `halfCloseTimeoutMs` (renewed by traffic) to end too.
  const sideDone = () => {
    if (settled || halfClose !== undefined || hooks.halfCloseTimeoutMs === undefined) return;
    halfClose = setTimeout(destroyBoth, hooks.halfCloseTimeoutMs);
    halfClose.unref();
  };
  const counted = (count: ((n: number) => void) | undefined) => (n: number) => {
    count?.(n);
    halfClose?.refresh();
  };
  const forward = (from: Socket, to: Socket, count: (n: number) => void, given: DirectReader | undefined) => {
    let fromEnded = false;
    const reader = given ?? directReaderOf(from);
    if (reader) reader.forwardTo(to, count);
    else {
      from.on('data', (chunk: Buffer) => {
        count(chunk.length);
        if (to.destroyed) return;
        if (!to.write(chunk)) from.pause();
      });
    }
    to.on('drain', () => from.resume());
    const onEnd = () => {
      fromEnded = true;
      if (!to.destroyed) to.end();
      // Both directions finished: the sockets close once their writes flush; the idle bound still holds.
      if (++ended === 2) settle();
      else sideDone();
    };
    // A paused socket with nothing buffered still reads its FIN and emits 'end' at once: one that ended
    // before the splice (a client's request and FIN while its tunnel or backend was being set up) is
    // passed on now, or the other side would never get it and nothing but the idle bound would end it.
    if (from.readableEnded) onEnd();
    else from.on('end', onEnd);
    from.on('error', (e: Error) => {
      error ??= e;
      to.destroy();
    });
    from.on('close', () => {
      // Closed without an error (ended, or destroyed by a timeout): let the other side finish writing.
      if (error !== undefined) to.destroy();
      else if (!to.destroyed && !to.writableEnded) to.end();
      if (!fromEnded) sideDone();
      if (++closed === 2) {
        settle();
        hooks.done?.(error);
      }
    });
    if (hooks.idleTimeoutMs !== undefined) from.setTimeout(hooks.idleTimeoutMs, destroyBoth);
  };
  forward(a, b, counted(hooks.aToB), hooks.readers?.a);
  forward(b, a, counted(hooks.bToA), hooks.readers?.b);
  a.resume();
  b.resume();
}
