import { monitorEventLoopDelay } from 'node:perf_hooks';

type IntervalHistogram = ReturnType<typeof monitorEventLoopDelay>;
import type { Collector, PodtraceRecorders } from '../types.ts';
import { readRunQueueWaits, runQueueWaitDelta } from './schedstat.ts';

/** Which source feeds the CPU block families: the kernel's per-thread run-queue wait, or the event-loop delay where /proc has none. */
export type CpuBlockSource = 'schedstat' | 'event-loop-delay';

/** Options of {@link startCpuBlockCollector}. */
export interface CpuBlockOptions {
  /** Sampling interval in ms (default 1000). */
  readonly intervalMs?: number;
  /** Task directory to read (default `/proc/self/task`). */
  readonly taskDir?: string;
  /** Force a source (tests); by default schedstat when readable. */
  readonly source?: CpuBlockSource;
}

/**
 * CPU block time (seed 003 "CPU Metrics") into `podtrace_cpu_block_seconds_histogram` and
 * `podtrace_cpu_block_seconds_gauge` with `type="CPU"`: once per interval, one observation of the time the
 * process's threads were runnable but not running during that interval, in seconds, summed over all
 * threads (from `/proc/self/task/<tid>/schedstat`, field 2). Podtrace observes each `sched_switch`; without
 * eBPF the closest per-process truth is this per-interval sum, so the histogram counts intervals, not
 * scheduling events, and an interval without waiting observes 0.
 *
 * Where schedstat cannot be read (no /proc, other OS) it falls back to the event loop: the largest
 * event-loop delay of the interval beyond the sampling resolution (`perf_hooks.monitorEventLoopDelay`,
 * ns), which measures the main thread being blocked, not the kernel's run queue. `source` says which.
 */
export function startCpuBlockCollector(rec: PodtraceRecorders, processName: () => string, opts: CpuBlockOptions = {}): Collector & { readonly source: CpuBlockSource } {
  const intervalMs = opts.intervalMs ?? 1_000;
  const record = (seconds: number) => {
    try {
      const labels = { type: 'CPU', process_name: processName() } as const;
      rec.podtrace_cpu_block_seconds_histogram.record(seconds, labels);
      rec.podtrace_cpu_block_seconds_gauge.record(seconds, labels);
    } catch {
      // never into the app
    }
  };

  let last: Map<string, number> | undefined;
  let source: CpuBlockSource = opts.source ?? 'schedstat';
  if (source === 'schedstat') {
    try {
      last = readRunQueueWaits(opts.taskDir);
      if (last.size === 0) throw new Error('no thread readable');
    } catch {
      source = 'event-loop-delay';
    }
  }

  let eld: IntervalHistogram | undefined;
  const resolutionMs = 10;
  let tick: () => void;
  if (source === 'schedstat') {
    tick = () => {
      let now: Map<string, number>;
      try {
        now = readRunQueueWaits(opts.taskDir);
      } catch {
        return;
      }
      const ns = runQueueWaitDelta(last ?? new Map(), now);
      last = now;
      record(ns / 1e9);
    };
  } else {
    eld = monitorEventLoopDelay({ resolution: resolutionMs });
    eld.enable();
    tick = () => {
      if (!eld) return;
      const maxNs = eld.count > 0 ? eld.max : 0;
      eld.reset();
      record(Math.max(0, maxNs - resolutionMs * 1e6) / 1e9);
    };
  }
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  let stopped = false;
  return {
    name: 'cpu',
    source,
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      eld?.disable();
    },
  };
}
