import type { Pipeline } from '../../instrumentation/pipeline.ts';
import { processComms } from '../../collectors/ebpf/target.ts';
import type { PodtraceRecorders } from '../../collectors/types.ts';

/** The latest-value gauges of seed 003 (`*_latest_seconds`, `*_seconds_gauge`): what upstream resets when a process exits. */
export const LATEST_GAUGES = [
  'podtrace_rtt_latest_seconds',
  'podtrace_latency_latest_seconds',
  'podtrace_dns_latency_seconds_gauge',
  'podtrace_fs_latency_seconds_gauge',
  'podtrace_cpu_block_seconds_gauge',
] as const;

/** Default grace period, in seconds: four 15 s scrapes see the last value of an exited process. */
export const DEFAULT_GRACE_SECONDS = 60;

/** Options of {@link removeExitedGauges}. */
export interface ExitedGaugesOptions {
  readonly pipeline: Pipeline;
  /** How long, in milliseconds, a process name's gauges outlive its last process. */
  readonly graceMs: number;
  /** /proc (tests may point elsewhere). */
  readonly proc?: string;
  /** Told each name whose gauges were removed. */
  readonly onRemoved?: (name: string) => void;
}

/**
 * Removes the latest-value gauges of exited processes after a grace period, as upstream podtrace resets
 * them when a process exits. `process_name` is a command name, which several processes may share: a
 * name's gauges go once no process on the host has carried it, and none of its gauges was recorded,
 * for `graceMs` (a process seen alive, or a new value, restarts the wait). Histograms and byte counters
 * stay: they are cumulative, and a rate over them falls to zero by itself.
 *
 * @returns `recorders`, which the eBPF collector records through instead of the pipeline's (they note
 *   which names hold gauges), and `stop()`, which ends the sweep timer. Never throws: an unreadable
 *   /proc entry is a process that is gone.
 */
export function removeExitedGauges(rec: PodtraceRecorders, opts: ExitedGaugesOptions): { recorders: PodtraceRecorders; stop(): void } {
  const proc = opts.proc ?? '/proc';
  /** name → when it was last seen alive or given a new gauge value (ms). */
  const held = new Map<string, number>();
  const recorders = Object.create(rec) as Record<string, unknown>;
  for (const family of LATEST_GAUGES) {
    const gauge = rec[family] as unknown as { record(value: number, labels: { readonly process_name: string }): void };
    recorders[family] = {
      record(value: number, labels: { readonly process_name: string }) {
        held.set(labels.process_name, Date.now());
        gauge.record(value, labels);
      },
    };
  }
  const sweep = () => {
    if (held.size === 0) return;
    const now = Date.now();
    const alive = new Set(processComms(proc).map(([, comm]) => comm));
    for (const [name, at] of held) {
      if (alive.has(name)) held.set(name, now);
      else if (now - at >= opts.graceMs) {
        held.delete(name);
        opts.pipeline.removeSeries({ process_name: name }, LATEST_GAUGES);
        opts.onRemoved?.(name);
      }
    }
  };
  const timer = setInterval(sweep, Math.max(100, Math.min(opts.graceMs / 2, 5000)));
  timer.unref();
  return { recorders: recorders as unknown as PodtraceRecorders, stop: () => clearInterval(timer) };
}
