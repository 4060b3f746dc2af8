import type { PodtraceRecorders } from '../types.ts';
import type { MapValue } from './parse.ts';
import { splitKey } from './parse.ts';
import { BYTES, FINITE_BUCKETS, FIRST_BOUND_NS, HIST, LAST } from './probes/kinds.ts';

type Rec = PodtraceRecorders;
type Kind<T> = T[keyof T];

/** Upper bound in seconds of bucket `b` (podtrace's `0.0001 * 2^b`); Infinity for the overflow bucket. */
function upperBound(b: number): number {
  return b >= FINITE_BUCKETS ? Infinity : (FIRST_BOUND_NS * 2 ** b) / 1e9;
}

/**
 * The value to record `n` times for a bucket that gained `n` observations summing to `totalNs`: their
 * mean, which lies inside the bucket, so bucket counts, count and sum all come out exact. Should a
 * racy read put the mean outside (count and total are read a moment apart), it is moved to the edge.
 */
export function bucketValue(b: number, n: number, totalNs: number): number {
  const lo = b <= 0 ? 0 : upperBound(b - 1);
  const hi = upperBound(b);
  const mean = totalNs / n / 1e9;
  if (!(mean > lo)) return lo === 0 ? 0 : lo * (1 + 1e-12);
  return mean > hi ? hi : mean;
}

/**
 * Starts, at zero, every series the program records for each of `names` (the process names known before
 * bpftrace attaches), so that the first scrape holds every process-named family with all its labels:
 * `network_bytes_total` (send, recv) and `filesystem_bytes_total` (read, write) at 0; the five histograms
 * with no observation (`begin`: every bucket, `_sum` and `_count` at 0); the latest-value gauges at 0
 * until the first event (`fs_latency_seconds_gauge` for read, write and fsync). Names are taken once;
 * empty ones are left out. Never throws.
 * @returns the names started.
 */
export function recordKnownSeries(rec: Rec, names: readonly string[]): string[] {
  const started = [...new Set(names.filter((n) => n !== ''))];
  for (const process_name of started) {
    try {
      const net = { type: 'NET', process_name } as const;
      const dns = { type: 'DNS', process_name } as const;
      const cpu = { type: 'CPU', process_name } as const;
      for (const direction of ['send', 'recv'] as const) rec.podtrace_network_bytes_total.add(0, { ...net, direction });
      for (const operation of ['read', 'write'] as const) rec.podtrace_filesystem_bytes_total.add(0, { type: 'FS', process_name, operation });
      rec.podtrace_rtt_seconds.begin(net);
      rec.podtrace_latency_seconds.begin(net);
      rec.podtrace_dns_latency_seconds_histogram.begin(dns);
      rec.podtrace_fs_latency_seconds_histogram.begin({ type: 'FS', process_name });
      rec.podtrace_cpu_block_seconds_histogram.begin(cpu);
      rec.podtrace_rtt_latest_seconds.record(0, net);
      rec.podtrace_latency_latest_seconds.record(0, net);
      rec.podtrace_dns_latency_seconds_gauge.record(0, dns);
      for (const type of ['read', 'write', 'fsync'] as const) rec.podtrace_fs_latency_seconds_gauge.record(0, { type, process_name });
      rec.podtrace_cpu_block_seconds_gauge.record(0, cpu);
    } catch {
      // never into the tracer's start-up
    }
  }
  return started;
}

/**
 * A histogram family's recorder with the labels of one series, built once per bucket. The family is
 * widened to take any `type` (each case below pairs it with its own documented value) so that the loop
 * calls one recorder with one labels object.
 */
interface HistogramSeries {
  readonly family: { record(v: number, labels: { readonly type: string; readonly process_name: string }): void };
  readonly labels: { readonly type: string; readonly process_name: string };
}

/**
 * The histogram of `@hist` kind `kind` for process `name` and its labels, built once: the caller records a
 * bucket's n new observations in a loop with them. Undefined for a kind this version does not know.
 */
function histogramOf(rec: Rec, kind: number, name: string): HistogramSeries | undefined {
  switch (kind as Kind<typeof HIST>) {
    case HIST.rtt:
      return { family: rec.podtrace_rtt_seconds as HistogramSeries['family'], labels: { type: 'NET', process_name: name } };
    case HIST.connect:
      return { family: rec.podtrace_latency_seconds as HistogramSeries['family'], labels: { type: 'NET', process_name: name } };
    case HIST.dns:
      return { family: rec.podtrace_dns_latency_seconds_histogram as HistogramSeries['family'], labels: { type: 'DNS', process_name: name } };
    case HIST.fs:
      return { family: rec.podtrace_fs_latency_seconds_histogram as HistogramSeries['family'], labels: { type: 'FS', process_name: name } };
    case HIST.cpu:
      return { family: rec.podtrace_cpu_block_seconds_histogram as HistogramSeries['family'], labels: { type: 'CPU', process_name: name } };
    default:
      return undefined;
  }
}

/** Records `v` (seconds) into the `@last` kind `kind`'s latest-value gauge for process `name`; an unknown kind is skipped. */
function recordGauge(rec: Rec, kind: number, name: string, v: number): void {
  switch (kind as Kind<typeof LAST>) {
    case LAST.rtt:
      return rec.podtrace_rtt_latest_seconds.record(v, { type: 'NET', process_name: name });
    case LAST.connect:
      return rec.podtrace_latency_latest_seconds.record(v, { type: 'NET', process_name: name });
    case LAST.dns:
      return rec.podtrace_dns_latency_seconds_gauge.record(v, { type: 'DNS', process_name: name });
    case LAST.cpu:
      return rec.podtrace_cpu_block_seconds_gauge.record(v, { type: 'CPU', process_name: name });
    case LAST.read:
      return rec.podtrace_fs_latency_seconds_gauge.record(v, { type: 'read', process_name: name });
    case LAST.write:
      return rec.podtrace_fs_latency_seconds_gauge.record(v, { type: 'write', process_name: name });
    case LAST.fsync:
      return rec.podtrace_fs_latency_seconds_gauge.record(v, { type: 'fsync', process_name: name });
  }
}

/** Adds `v` bytes to the `@bytes` kind `kind`'s counter for process `name`; an unknown kind is skipped. */
function addBytes(rec: Rec, kind: number, name: string, v: number): void {
  switch (kind as Kind<typeof BYTES>) {
    case BYTES.send:
      return rec.podtrace_network_bytes_total.add(v, { type: 'NET', process_name: name, direction: 'send' });
    case BYTES.recv:
      return rec.podtrace_network_bytes_total.add(v, { type: 'NET', process_name: name, direction: 'recv' });
    case BYTES.read:
      return rec.podtrace_filesystem_bytes_total.add(v, { type: 'FS', process_name: name, operation: 'read' });
    case BYTES.write:
      return rec.podtrace_filesystem_bytes_total.add(v, { type: 'FS', process_name: name, operation: 'write' });
  }
}

/**
 * Turns the program's cumulative maps into podtrace measurements: each print is compared with the
 * previous one (the maps are never cleared in the kernel, so nothing is lost between a read and a
 * clear), and only what changed is recorded.
 *
 * - `@hist[name, kind, bucket]` (stats of ns): the new observations of the bucket, recorded as
 *   {@link bucketValue} that many times into the kind's histogram;
 * - `@last[name, kind]` (ns): the kind's latest-value gauge, when the value changed;
 * - `@bytes[name, kind]` (bytes): the increase, added to network_bytes_total / filesystem_bytes_total.
 *
 * Entries with an empty process name (a socket or thread forgotten between two events) are skipped.
 * Never throws.
 */
export function createEbpfRecorder(rec: Rec): { map(name: string, entries: ReadonlyMap<string, MapValue>): void } {
  const prevHist = new Map<string, { count: number; total: number }>();
  const prevLast = new Map<string, number>();
  const prevBytes = new Map<string, number>();

  const onHist = (entries: ReadonlyMap<string, MapValue>) => {
    for (const [key, value] of entries) {
      if (typeof value === 'number') continue;
      const k = splitKey(key, 2);
      if (!k || !k.name) continue;
      const [kind, bucket] = k.parts as [number, number];
      const prev = prevHist.get(key) ?? { count: 0, total: 0 };
      // A count that went down means a new program run: everything is new.
      const base = value.count < prev.count ? { count: 0, total: 0 } : prev;
      const n = value.count - base.count;
      prevHist.set(key, { count: value.count, total: value.total });
      if (n <= 0) continue;
      const series = histogramOf(rec, kind, k.name);
      if (!series) continue;
      const { family, labels } = series;
      const v = bucketValue(bucket, n, value.total - base.total);
      for (let i = 0; i < n; i++) family.record(v, labels);
    }
  };
  const onLast = (entries: ReadonlyMap<string, MapValue>) => {
    for (const [key, value] of entries) {
      if (typeof value !== 'number' || prevLast.get(key) === value) continue;
      prevLast.set(key, value);
      const k = splitKey(key, 1);
      if (!k || !k.name) continue;
      recordGauge(rec, k.parts[0] as number, k.name, value / 1e9);
    }
  };
  const onBytes = (entries: ReadonlyMap<string, MapValue>) => {
    for (const [key, value] of entries) {
      if (typeof value !== 'number') continue;
      const prev = prevBytes.get(key) ?? 0;
      const delta = value < prev ? value : value - prev;
      prevBytes.set(key, value);
      if (delta <= 0) continue;
      const k = splitKey(key, 1);
      if (!k || !k.name) continue;
      addBytes(rec, k.parts[0] as number, k.name, delta);
    }
  };

  return {
    map(name, entries) {
      try {
        if (name === '@hist') onHist(entries);
        else if (name === '@last') onLast(entries);
        else if (name === '@bytes') onBytes(entries);
      } catch {
        // a malformed print is skipped; the next one carries the totals
      }
    },
  };
}
