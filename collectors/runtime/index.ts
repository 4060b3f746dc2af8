import { syncBuiltinESMExports } from 'node:module';
import { tryStart } from '../safe.ts';
import type { Collector, CollectorLogger, PodtraceRecorders } from '../types.ts';
import { startCpuBlockCollector } from './cpu-block.ts';
import { startDnsCollector } from './dns.ts';
import { startFsCollector } from './fs.ts';
import { startNetworkBytesCollector } from './network-bytes.ts';
import { createProcessName } from './process-name.ts';
import { startTcpConnectCollector } from './tcp-connect.ts';
import { startTcpRttCollector } from './tcp-rtt.ts';

/** The runtime collectors, by the names `OTEL_CONTRACTS_COLLECTORS` uses (`runtime` means all of them). */
export const RUNTIME_COLLECTORS = ['dns', 'tcp', 'rtt', 'bytes', 'fs', 'cpu'] as const;
export type RuntimeCollectorName = (typeof RUNTIME_COLLECTORS)[number];

/** Options of {@link startRuntimeCollectors}. Intervals in ms. */
export interface RuntimeOptions {
  readonly enabled: ReadonlySet<RuntimeCollectorName>;
  readonly logger: CollectorLogger;
  readonly env?: NodeJS.ProcessEnv;
  readonly cpuIntervalMs?: number;
  readonly rttIntervalMs?: number;
  readonly bytesIntervalMs?: number;
}

/**
 * Starts the podtrace runtime collectors of seed 003 for this process (one per concept: DNS latency, TCP
 * connect latency, TCP RTT, network bytes, file-system latency and bytes, CPU block time), sharing one
 * `process_name` source. A collector that cannot start logs one line and is left out; this function
 * never throws. After patching `dns` and `fs` it syncs the ESM named exports of the built-ins, so an ESM
 * app's `import { readFile } from 'node:fs'` gets the wrapper as well.
 *
 * @returns the collectors that started, plus the process-name refresher (as a collector named `process-name`).
 */
export function startRuntimeCollectors(rec: PodtraceRecorders, opts: RuntimeOptions): Collector[] {
  const processName = createProcessName(opts.env);
  const started: Collector[] = [{ name: 'process-name', stop: () => processName.stop() }];
  const attempt = (name: RuntimeCollectorName, start: () => Collector) => {
    const c = opts.enabled.has(name) ? tryStart(name, start, opts.logger) : undefined;
    if (c) started.push(c);
  };
  attempt('dns', () => startDnsCollector(rec, processName));
  attempt('tcp', () => startTcpConnectCollector(rec, processName));
  attempt('rtt', () => startTcpRttCollector(rec, processName, { intervalMs: opts.rttIntervalMs, logger: opts.logger, env: opts.env }));
  attempt('bytes', () => startNetworkBytesCollector(rec, processName, { intervalMs: opts.bytesIntervalMs }));
  attempt('fs', () => startFsCollector(rec, processName));
  attempt('cpu', () => startCpuBlockCollector(rec, processName, { intervalMs: opts.cpuIntervalMs }));
  try {
    syncBuiltinESMExports();
  } catch {
    // ESM named imports keep the originals: only ESM apps' named imports go untimed
  }
  return started;
}
