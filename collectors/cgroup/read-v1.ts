import type { V1Controller } from './locate.ts';
import { parseIntValue, readCgroupFile as read, V1_UNLIMITED_THRESHOLD, type CgroupSample } from './sample.ts';

/**
 * Sum of the per-device `Read` and `Write` lines of `blkio.throttle.io_service_bytes`
 * (`8:0 Read 4096`, `8:0 Write 8192`, ..., `Total 12288`); the `Total` lines are not added again.
 */
export function parseBlkioServiceBytes(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  let sum = 0;
  for (const line of text.split('\n')) {
    const [dev, op, v] = line.trim().split(/\s+/);
    if (dev && (op === 'Read' || op === 'Write') && v !== undefined && /^\d+$/.test(v)) sum += Number(v);
  }
  return sum;
}

/**
 * Reads cgroup v1 controller directories: `memory.limit_in_bytes` (≥ 2^60 → unlimited),
 * `memory.usage_in_bytes`, `cpu.cfs_quota_us` (-1 → unlimited), `cpu.cfs_period_us`, `cpuacct.usage`
 * (ns, reported in µs), `blkio.throttle.io_service_bytes`. Never throws; a missing controller or file
 * leaves its fields undefined.
 */
export function readCgroupV1(dirs: Readonly<Partial<Record<V1Controller, string>>>): CgroupSample {
  const memLimit = parseIntValue(read(dirs.memory, 'memory.limit_in_bytes'));
  const quota = parseIntValue(read(dirs.cpu, 'cpu.cfs_quota_us'));
  const usageNs = parseIntValue(read(dirs.cpuacct ?? dirs.cpu, 'cpuacct.usage'));
  return {
    version: 1,
    memory: {
      limitBytes: memLimit === undefined ? undefined : memLimit >= V1_UNLIMITED_THRESHOLD || memLimit < 0 ? null : memLimit,
      usageBytes: parseIntValue(read(dirs.memory, 'memory.usage_in_bytes')),
    },
    cpu: {
      quotaUs: quota === undefined ? undefined : quota < 0 ? null : quota,
      periodUs: parseIntValue(read(dirs.cpu, 'cpu.cfs_period_us')),
      usageUs: usageNs === undefined ? undefined : usageNs / 1000,
    },
    io: { usageBytes: parseBlkioServiceBytes(read(dirs.blkio, 'blkio.throttle.io_service_bytes')) },
  };
}
