import dgram from 'node:dgram';
import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { guarded, stopOnce } from '../safe.ts';
import type { Collector, PodtraceRecorders } from '../types.ts';
import { patchMethod, type Restore } from './wrap.ts';

/** Options of {@link startNetworkBytesCollector}. */
export interface NetworkBytesOptions {
  /** How often the open TCP sockets' counters are read, in ms (default 5000). */
  readonly intervalMs?: number;
}

interface Seen {
  read: number;
  written: number;
}

/**
 * Bytes over TCP and UDP sockets (seed 003 "I/O Bandwidth Metrics") into
 * `podtrace_network_bytes_total{type="NET",direction="send"|"recv"}`.
 *
 * - TCP: every client (`net.client.socket`) and accepted server (`net.server.socket`) socket is tracked;
 *   the deltas of `socket.bytesWritten` / `socket.bytesRead` are added when it closes and every
 *   `intervalMs` while it is open (and on {@link Collector.flush}, before the final push).
 *   `bytesWritten` counts bytes handed to the socket, including any still queued in user space.
 * - UDP: `dgram.Socket.prototype.send` is wrapped (bytes handed to send, counted at the call), and every
 *   socket announced on the `udp.socket` channel gets a `message` listener (bytes of each datagram).
 *
 * Bytes of TLS sockets are counted on their underlying TCP socket (ciphertext). Sockets opened
 * without `net.connect` (e.g. `new net.Socket().connect()`) are not seen by the channels.
 */
export function startNetworkBytesCollector(rec: PodtraceRecorders, processName: () => string, opts: NetworkBytesOptions = {}): Collector {
  const open = new Map<Socket, Seen>();
  let sent = 0;
  let received = 0;

  const sweep = (socket: Socket, seen: Seen) => {
    const r = socket.bytesRead ?? 0;
    const w = socket.bytesWritten ?? 0;
    if (r > seen.read) received += r - seen.read;
    if (w > seen.written) sent += w - seen.written;
    seen.read = r;
    seen.written = w;
  };
  // Subscribers never throw: diagnostics_channel would rethrow as an uncaught exception.
  const onTcp = guarded((message: unknown) => {
    const socket = (message as { socket?: Socket }).socket;
    if (!socket || typeof socket.once !== 'function' || open.has(socket)) return;
    const seen = { read: 0, written: 0 };
    open.set(socket, seen);
    socket.once('close', () => {
      try {
        sweep(socket, seen);
      } catch {
        // never into the app
      }
      open.delete(socket);
    });
  });
  const onUdp = guarded((message: unknown) => {
    const socket = (message as { socket?: dgram.Socket }).socket;
    if (!socket || typeof socket.on !== 'function') return;
    socket.on('message', (msg: Buffer) => {
      received += msg?.length ?? 0;
    });
  });
  const restoreSend: Restore | undefined = patchMethod(dgram.Socket.prototype, 'send', (orig) =>
    function (this: unknown, ...args: unknown[]) {
      try {
        sent += udpPayloadBytes(args);
      } catch {
        // never into the app
      }
      return orig.apply(this, args);
    },
  );

  const flush = () => {
    try {
      for (const [socket, seen] of open) sweep(socket, seen);
      const process_name = processName();
      if (sent > 0) rec.podtrace_network_bytes_total.add(sent, { type: 'NET', process_name, direction: 'send' });
      if (received > 0) rec.podtrace_network_bytes_total.add(received, { type: 'NET', process_name, direction: 'recv' });
    } catch {
      // never into the app
    }
    sent = 0;
    received = 0;
  };
  diagnostics.subscribe('net.client.socket', onTcp);
  diagnostics.subscribe('net.server.socket', onTcp);
  diagnostics.subscribe('udp.socket', onUdp);
  const timer = setInterval(flush, opts.intervalMs ?? 5_000);
  timer.unref();
  return {
    name: 'bytes',
    source: 'net/udp channels',
    flush,
    stop: stopOnce(() => {
      clearInterval(timer);
      diagnostics.unsubscribe('net.client.socket', onTcp);
      diagnostics.unsubscribe('net.server.socket', onTcp);
      diagnostics.unsubscribe('udp.socket', onUdp);
      restoreSend?.();
      open.clear();
    }),
  };
}

/**
 * Payload size of a `dgram` `send(msg, [offset, length,] ...)` call: `length` when an offset and length
 * follow a single buffer, else the byte length of `msg` (a string, buffer, typed array or an array of them).
 */
export function udpPayloadBytes(args: readonly unknown[]): number {
  const msg = args[0];
  if (!Array.isArray(msg) && typeof args[1] === 'number' && typeof args[2] === 'number') return Math.max(0, args[2]);
  const list = Array.isArray(msg) ? msg : [msg];
  let n = 0;
  for (const m of list) {
    if (typeof m === 'string') n += Buffer.byteLength(m);
    else if (ArrayBuffer.isView(m)) n += m.byteLength;
  }
  return n;
}
