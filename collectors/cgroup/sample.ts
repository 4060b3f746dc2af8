import { join } from 'node:path';
import { untraced } from '../runtime/untraced.ts';

/**
 * One reading of a cgroup's limits and usage. A limit of `null` means unlimited (`max` in v2, `-1` or
 * the page-counter maximum 2^63-4096 in v1); `undefined` means the file is absent or unreadable.
 */
export interface CgroupSample {
  readonly version: 1 | 2;
  readonly memory: {
    /** `memory.max` / `memory.limit_in_bytes`, bytes. */
    readonly limitBytes?: number | null;
    /** `memory.current` / `memory.usage_in_bytes`, bytes (includes page cache, as the kernel counts it). */
    readonly usageBytes?: number;
  };
  readonly cpu: {
    /** CFS quota per period in microseconds (`cpu.max` first field / `cpu.cfs_quota_us`). */
    readonly quotaUs?: number | null;
    /** CFS period in microseconds (`cpu.max` second field / `cpu.cfs_period_us`). */
    readonly periodUs?: number;
    /** Cumulative CPU time in microseconds (`cpu.stat` usage_usec / `cpuacct.usage` ns ÷ 1000). */
    readonly usageUs?: number;
  };
  readonly io: {
    /** Cumulative bytes read plus written on all devices (`io.stat` rbytes+wbytes / `blkio.throttle.io_service_bytes` Read+Write). */
    readonly usageBytes?: number;
  };
}

/** v1 reports "no limit" as the page-counter maximum rounded to pages (2^63 - 4096 on x86_64); anything this large is unlimited. */
export const V1_UNLIMITED_THRESHOLD = 2 ** 60;

/** Parses one integer file value; undefined for anything else. */
export function parseIntValue(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) return undefined;
  return Number(t);
}

/** The text of `file` in a cgroup directory; undefined when the directory is unknown or the file unreadable. */
export function readCgroupFile(dir: string | undefined, file: string): string | undefined {
  if (dir === undefined) return undefined;
  try {
    return untraced.readFileSync(join(dir, file), 'utf8');
  } catch {
    return undefined;
  }
}
