import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { guarded, pairRecorder, stopOnce } from '../safe.ts';
import type { Collector, PodtraceRecorders } from '../types.ts';

/**
 * TCP connect latency (seed 003 "Latency Metrics"): for every client socket made by `net.connect` /
 * `net.createConnection` (hence every `http` client connection), the time from the connect call, or from
 * the end of its DNS look-up when a host name was given, to the `connect` event, into
 * `podtrace_latency_seconds` and `podtrace_latency_latest_seconds` with `type="NET"`. Source: the
 * `net.client.socket` diagnostics channel. Unix-domain sockets and failed connects are not recorded.
 */
export function startTcpConnectCollector(rec: PodtraceRecorders, processName: () => string): Collector {
  const record = pairRecorder(rec.podtrace_latency_seconds, rec.podtrace_latency_latest_seconds, 'NET', processName);
  // guarded: a subscriber's throw would become an uncaught exception in the app
  const onSocket = guarded((message: unknown) => {
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
      record((performance.now() - t0) / 1000);
    });
  });
  diagnostics.subscribe('net.client.socket', onSocket);
  return {
    name: 'tcp',
    source: 'net.client.socket channel',
    stop: stopOnce(() => diagnostics.unsubscribe('net.client.socket', onSocket)),
  };
}
