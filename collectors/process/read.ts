import { opendirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Clock ticks per second of the times in `/proc/<pid>/stat` (`USER_HZ`): 100 on every Linux architecture
 * Node runs on; the kernel scales to it whatever its internal HZ. client_golang's procfs assumes the same.
 */
export const USER_HZ = 100;

/** Default bound on `/proc/self/fd` entries read per collection: above it, `process_open_fds` is left out. */
export const DEFAULT_MAX_OPEN_FDS = 65_536;

/** One reading of the standard process values. A value that could not be read is absent, and its cause is in `problems`. */
export interface ProcessSample {
  /** utime + stime, in seconds. */
  cpuSeconds?: number;
  /** VmRSS, in bytes. */
  residentBytes?: number;
  /** VmSize, in bytes. */
  virtualBytes?: number;
  /** Seconds since the Unix epoch. */
  startTimeSeconds?: number;
  openFds?: number;
  /** The soft limit on open files; absent when unlimited. */
  maxFds?: number;
  /** One phrase per value left out (file and reason). */
  readonly problems: string[];
}

/** Options of {@link readProcessSample}. */
export interface ReadOptions {
  /** Where procfs is mounted (default `/proc`). */
  readonly procRoot?: string;
  /** Most `fd/` entries counted before `openFds` is left out as too large (default {@link DEFAULT_MAX_OPEN_FDS}). */
  readonly maxOpenFds?: number;
  /** System boot time in seconds since the epoch (`btime` of `/proc/stat`), when already known. */
  readonly bootTimeSeconds?: number;
}

/**
 * Reads the values of the six standard process families from `<procRoot>/self` as the Prometheus client
 * libraries define them: `stat` (utime, stime, starttime), `status` (VmRSS, VmSize), `fd/` (entries,
 * without the one this read opens) and `limits` ("Max open files", soft). Synchronous: procfs maps kernel
 * state and never blocks. Never throws.
 */
export function readProcessSample(opts: ReadOptions = {}): ProcessSample {
  const root = opts.procRoot ?? '/proc';
  const sample: ProcessSample = { problems: [] };
  const attempt = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      sample.problems.push(`${what}: ${(e as Error).message}`);
    }
  };
  attempt(join(root, 'self/stat'), () => {
    const stat = parseStat(readFileSync(join(root, 'self/stat'), 'utf8'));
    sample.cpuSeconds = (stat.utime + stat.stime) / USER_HZ;
    const boot = opts.bootTimeSeconds ?? readBootTime(root);
    sample.startTimeSeconds = boot + stat.starttime / USER_HZ;
  });
  attempt(join(root, 'self/status'), () => {
    const status = readFileSync(join(root, 'self/status'), 'utf8');
    sample.residentBytes = statusKb(status, 'VmRSS') * 1024;
    sample.virtualBytes = statusKb(status, 'VmSize') * 1024;
  });
  attempt(join(root, 'self/fd'), () => {
    sample.openFds = countFds(join(root, 'self/fd'), opts.maxOpenFds ?? DEFAULT_MAX_OPEN_FDS);
  });
  attempt(join(root, 'self/limits'), () => {
    const soft = maxOpenFiles(readFileSync(join(root, 'self/limits'), 'utf8'));
    if (soft !== undefined) sample.maxFds = soft;
  });
  return sample;
}

/** `btime` of `<procRoot>/stat`: boot time in seconds since the epoch. @throws Error when absent or unreadable. */
export function readBootTime(procRoot = '/proc'): number {
  // /proc/stat grows with the CPU count; btime comes after the per-CPU lines, so read it whole.
  const m = /^btime (\d+)$/m.exec(readFileSync(join(procRoot, 'stat'), 'utf8'));
  if (!m) throw new Error(`no btime line in ${join(procRoot, 'stat')}`);
  return Number(m[1]);
}

/**
 * utime, stime and starttime (in ticks) of a `/proc/<pid>/stat` line (`proc(5)` fields 14, 15 and 22).
 * The command name (field 2) may hold spaces and parentheses: fields are counted after its last `)`.
 * @throws Error when the line does not have them.
 */
export function parseStat(text: string): { utime: number; stime: number; starttime: number } {
  const rest = text.slice(text.lastIndexOf(')') + 2).trim().split(' ');
  // rest[0] is field 3 (state).
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const starttime = Number(rest[19]);
  if (!(utime >= 0 && stime >= 0 && starttime >= 0)) throw new Error('unexpected stat layout');
  return { utime, stime, starttime };
}

/** A `Name:   N kB` line of `/proc/<pid>/status`, in kB. @throws Error when absent. */
function statusKb(status: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!m) throw new Error(`no ${name} line`);
  return Number(m[1]);
}

/** The soft "Max open files" limit of `/proc/<pid>/limits`; undefined when unlimited. @throws Error when absent. */
export function maxOpenFiles(limits: string): number | undefined {
  const line = limits.split('\n').find((l) => l.startsWith('Max open files'));
  if (!line) throw new Error('no "Max open files" line');
  const soft = line.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === 'unlimited') return undefined;
  const n = Number(soft);
  if (!Number.isInteger(n) || n < 0) throw new Error(`unexpected "Max open files" value ${soft}`);
  return n;
}

/**
 * Counts the entries of an `fd/` directory without listing it whole, minus the descriptor the listing itself
 * holds open (it appears among the entries, as prom-client also corrects for).
 * @throws Error when unreadable, or with "too large" when more than `max` entries are found.
 */
function countFds(dir: string, max: number): number {
  const d = opendirSync(dir, { bufferSize: 128 });
  let n = 0;
  try {
    while (d.readSync() !== null) {
      if (++n > max + 1) throw new Error(`too large: more than ${max} entries`);
    }
  } finally {
    d.closeSync();
  }
  return Math.max(0, n - 1);
}

