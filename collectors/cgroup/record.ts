import type { PodtraceRecorders } from '../types.ts';
import { alertLevel } from './alert-level.ts';
import type { CgroupSample } from './sample.ts';

type ResourceType = 'cpu' | 'memory' | 'io';

/**
 * Turns successive {@link CgroupSample}s into the four podtrace resource families (seed 003 "Resource
 * Limit Metrics"), with `resource_type` and `namespace`:
 *
 * - `podtrace_resource_limit_bytes`: memory limit in bytes; CPU quota in µs per CFS period (the doc's
 *   "or CPU quota in microseconds"). An unlimited resource gets no limit series at all (never 2^63 or
 *   2^64). IO has no byte limit in the files read, so no io limit series.
 * - `podtrace_resource_usage_bytes`: memory usage in bytes; cumulative CPU time in µs; cumulative IO
 *   bytes read+written.
 * - `podtrace_resource_utilization_percent`: memory usage/limit × 100; CPU: the CPU time used between two
 *   samples over the quota available in that wall time (Δusage / (Δwall × quota/period)) × 100, so from
 *   the second sample on. Only for limited resources; values above 100 mean over the limit.
 * - `podtrace_resource_alert_level`: 0/1/2/3 at 80/90/95 % of that utilization, wherever it exists.
 *
 * @returns `record(sample, nowMs)`; `nowMs` is a monotonic clock in ms (performance.now()). Never throws.
 */
export function createCgroupRecorder(rec: PodtraceRecorders, namespace: string): (sample: CgroupSample, nowMs: number) => void {
  let prevCpu: { usageUs: number; atMs: number } | undefined;
  // Outside Kubernetes there is no namespace: the label is left off rather than written empty.
  const labelsOf = <T extends ResourceType>(resource_type: T) => (namespace ? { resource_type, namespace } : { resource_type });
  const labels = { cpu: labelsOf('cpu'), memory: labelsOf('memory'), io: labelsOf('io') };
  const utilization = (resource_type: 'cpu' | 'memory', percent: number) => {
    if (!Number.isFinite(percent)) return;
    rec.podtrace_resource_utilization_percent.record(percent, labels[resource_type]);
    rec.podtrace_resource_alert_level.record(alertLevel(percent), labels[resource_type]);
  };
  return (sample, nowMs) => {
    try {
      const { memory, cpu, io } = sample;
      if (memory.usageBytes !== undefined) rec.podtrace_resource_usage_bytes.record(memory.usageBytes, labels.memory);
      if (typeof memory.limitBytes === 'number' && memory.limitBytes > 0) {
        rec.podtrace_resource_limit_bytes.record(memory.limitBytes, labels.memory);
        if (memory.usageBytes !== undefined) utilization('memory', (memory.usageBytes / memory.limitBytes) * 100);
      }

      if (cpu.usageUs !== undefined) rec.podtrace_resource_usage_bytes.record(cpu.usageUs, labels.cpu);
      if (typeof cpu.quotaUs === 'number' && cpu.quotaUs > 0) {
        rec.podtrace_resource_limit_bytes.record(cpu.quotaUs, labels.cpu);
        if (cpu.usageUs !== undefined && prevCpu && nowMs > prevCpu.atMs) {
          const cpus = cpu.quotaUs / (cpu.periodUs && cpu.periodUs > 0 ? cpu.periodUs : 100_000);
          const wallUs = (nowMs - prevCpu.atMs) * 1000;
          utilization('cpu', ((cpu.usageUs - prevCpu.usageUs) / (wallUs * cpus)) * 100);
        }
      }
      prevCpu = cpu.usageUs !== undefined ? { usageUs: cpu.usageUs, atMs: nowMs } : undefined;

      if (io.usageBytes !== undefined) rec.podtrace_resource_usage_bytes.record(io.usageBytes, labels.io);
    } catch {
      // never into the app
    }
  };
}
