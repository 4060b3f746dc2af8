import type { Recorders } from '../../instrumentation/recorders.ts';
import type { process as processContract } from '../../semconv/generated/process.ts';
import { stopOnce } from '../safe.ts';
import type { Collector, CollectorLogger } from '../types.ts';
import { readBootTime, readProcessSample, type ReadOptions } from './read.ts';

/** Typed recorders of the `process` contract (the standard Prometheus process families). */
export type ProcessRecorders = Recorders<typeof processContract>;

/** Options of {@link startProcessCollector}. */
export interface ProcessCollectorOptions extends Omit<ReadOptions, 'bootTimeSeconds'> {
  readonly logger: CollectorLogger;
}

/** A process collector: {@link Collector.flush} reads `/proc/self` and records; run it before every collection. */
export interface ProcessCollector extends Collector {
  flush(): void;
}

/**
 * The standard Prometheus process families (Prometheus client-library convention, see `semconv/process.yaml`),
 * read from `/proc/self` on each {@link ProcessCollector.flush}: the caller runs it before every collection
 * (`pipeline.onCollect`), so each scrape and push carries values read at that moment. No timer.
 *
 * - `process_cpu_seconds_total` (counter): the growth of utime + stime since the last reading is added.
 * - the five gauges: their current value is recorded.
 *
 * A value that cannot be read (no procfs, a file missing, `/proc/self/fd` above `maxOpenFds` entries) is
 * left out of that collection, and the first such problem is logged in one warning line for the
 * collector's lifetime. Never throws.
 */
export function startProcessCollector(rec: ProcessRecorders, opts: ProcessCollectorOptions): ProcessCollector {
  let bootTimeSeconds: number | undefined;
  try {
    bootTimeSeconds = readBootTime(opts.procRoot);
  } catch {
    // readProcessSample retries it, and reports the problem
  }
  let lastCpu = 0;
  let logged = false;
  let stopped = false;
  const flush = () => {
    if (stopped) return;
    try {
      const s = readProcessSample({ procRoot: opts.procRoot, maxOpenFds: opts.maxOpenFds, bootTimeSeconds });
      if (s.cpuSeconds !== undefined && s.cpuSeconds >= lastCpu) {
        rec.process_cpu_seconds_total.add(s.cpuSeconds - lastCpu);
        lastCpu = s.cpuSeconds;
      }
      if (s.residentBytes !== undefined) rec.process_resident_memory_bytes.record(s.residentBytes);
      if (s.virtualBytes !== undefined) rec.process_virtual_memory_bytes.record(s.virtualBytes);
      if (s.startTimeSeconds !== undefined) rec.process_start_time_seconds.record(s.startTimeSeconds);
      if (s.openFds !== undefined) rec.process_open_fds.record(s.openFds);
      if (s.maxFds !== undefined) rec.process_max_fds.record(s.maxFds);
      if (s.problems.length && !logged) {
        logged = true;
        opts.logger.warn({ collector: 'process', problems: s.problems }, 'process metrics: values that cannot be read are left out (logged once)');
      }
    } catch {
      // never into the app or the collection
    }
  };
  return {
    name: 'process',
    source: `${opts.procRoot ?? '/proc'}/self`,
    flush,
    stop: stopOnce(() => {
      stopped = true;
    }),
  };
}
