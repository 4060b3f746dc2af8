import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Collector, PodtraceRecorders } from '../types.ts';

/**
 * TCP connect latency (seed 003 "Latency Metrics"): for every client socket made by `net.connect` /
 * `net.createConnection` (hence every `http` client connection), the time from the connect call, or from
 * the end of its DNS look-up when a host name was given, to the `connect` event, into
 * `podtrace_latency_seconds` and `podtrace_latency_latest_seconds` with `type="NET"`. Source: the
 * `net.client.socket` diagnostics channel. Unix-domain sockets and failed connects are not recorded.
 */
export function startTcpConnectCollector(rec: PodtraceRecorders, processName: () => string): Collector {
  const onSocket = (message: unknown) => {
    try {
      watch(message);
    } catch {
      // never into the app (a subscriber's throw would become an uncaught exception)
    }
  };
  const watch = (message: unknown) => {
    const socket = (message as { socket?: Socket }).socket;
    if (!socket || typeof socket.once !== 'function') return;
    let t0 = performance.now();
    const onLookup = () => {
      t0 = performance.now();
    };
    socket.once('lookup', onLookup);
    socket.once('connect', () => {
      socket.off('lookup', onLookup);
      if (socket.remoteFamily === undefined) return; // a Unix-domain socket: not TCP
      try {
        const s = (performance.now() - t0) / 1000;
        const labels = { type: 'NET', process_name: processName() } as const;
        rec.podtrace_latency_seconds.record(s, labels);
        rec.podtrace_latency_latest_seconds.record(s, labels);
      } catch {
        // never into the app
      }
    });
  };
  diagnostics.subscribe('net.client.socket', onSocket);
  let stopped = false;
  return {
    name: 'tcp',
    source: 'net.client.socket channel',
    stop() {
      if (stopped) return;
      stopped = true;
      diagnostics.unsubscribe('net.client.socket', onSocket);
    },
  };
}
