import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pairRecorder, stopOnce } from '../safe.ts';
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
  const record = pairRecorder(rec.podtrace_cpu_block_seconds_histogram, rec.podtrace_cpu_block_seconds_gauge, 'CPU', processName);
  const sampler = (opts.source === 'event-loop-delay' ? undefined : schedstatSampler(opts.taskDir, record)) ?? eventLoopDelaySampler(record);
  const timer = setInterval(sampler.tick, opts.intervalMs ?? 1_000);
  timer.unref();
  return {
    name: 'cpu',
    source: sampler.source,
    stop: stopOnce(() => {
      clearInterval(timer);
      sampler.stop?.();
    }),
  };
}

/** One source of the CPU block figure: `tick` records the interval just ended. */
interface Sampler {
  readonly source: CpuBlockSource;
  readonly tick: () => void;
  readonly stop?: () => void;
}

/**
 * The run-queue wait summed over all threads since the previous tick.
 * @returns undefined when no thread's schedstat can be read (the caller falls back).
 */
function schedstatSampler(taskDir: string | undefined, record: (seconds: number) => void): Sampler | undefined {
  let last: Map<string, number>;
  try {
    last = readRunQueueWaits(taskDir);
  } catch {
    return undefined;
  }
  if (last.size === 0) return undefined;
  return {
    source: 'schedstat',
    tick: () => {
      let now: Map<string, number>;
      try {
        now = readRunQueueWaits(taskDir);
      } catch {
        return;
      }
      const ns = runQueueWaitDelta(last, now);
      last = now;
      record(ns / 1e9);
    },
  };
}

/** The largest event-loop delay of the interval beyond the 10 ms sampling resolution. */
function eventLoopDelaySampler(record: (seconds: number) => void): Sampler {
  const resolutionMs = 10;
  const eld = monitorEventLoopDelay({ resolution: resolutionMs });
  eld.enable();
  return {
    source: 'event-loop-delay',
    tick: () => {
      const maxNs = eld.count > 0 ? eld.max : 0;
      eld.reset();
      record(Math.max(0, maxNs - resolutionMs * 1e6) / 1e9);
    },
    stop: () => eld.disable(),
  };
}
