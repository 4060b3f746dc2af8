import { parseIntValue, readCgroupFile as read, type CgroupSample } from './sample.ts';

/** `max` → null (unlimited), an integer → that number, anything else → undefined. */
function limitOf(text: string | undefined): number | null | undefined {
  if (text === undefined) return undefined;
  return text.trim() === 'max' ? null : parseIntValue(text);
}

/** `key value` lines (cpu.stat) → map. */
export function parseKeyValues(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

/** Sum of `rbytes` and `wbytes` over every device line of `io.stat` (`8:0 rbytes=1 wbytes=2 rios=...`). */
export function parseIoStat(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  let sum = 0;
  for (const m of text.matchAll(/\b[rw]bytes=(\d+)/g)) sum += Number(m[1]);
  return sum;
}

/**
 * Reads a cgroup v2 directory: `memory.max`, `memory.current`, `cpu.max` (`QUOTA PERIOD` or `max PERIOD`),
 * `cpu.stat` (`usage_usec`), `io.stat`. The root cgroup has no `memory.max`/`cpu.max`: its limits come out
 * undefined (not reported). Never throws; a missing file leaves its fields undefined.
 */
export function readCgroupV2(dir: string): CgroupSample {
  const cpuMax = read(dir, 'cpu.max')?.trim().split(/\s+/);
  const quotaUs = cpuMax ? (cpuMax[0] === 'max' ? null : parseIntValue(cpuMax[0])) : undefined;
  const periodUs = cpuMax ? parseIntValue(cpuMax[1]) : undefined;
  return {
    version: 2,
    memory: { limitBytes: limitOf(read(dir, 'memory.max')), usageBytes: parseIntValue(read(dir, 'memory.current')) },
    cpu: { quotaUs, periodUs, usageUs: parseKeyValues(read(dir, 'cpu.stat')).get('usage_usec') },
    io: { usageBytes: parseIoStat(read(dir, 'io.stat')) },
  };
}
