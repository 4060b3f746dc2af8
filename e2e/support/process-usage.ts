/**
 * What a process under test has used, from /proc (Linux): CPU time (user + system) and its peak resident
 * set (VmHWM, the kernel's high-water mark since the process started).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on every Linux architecture in use). */
const USER_HZ = 100;

/**
 * CPU seconds `pid` has used so far (utime + stime).
 * @throws Error when the process is gone.
 */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command name: field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

/**
 * CPU seconds used so far by every process of each process group in `groups` (utime + stime, all threads;
 * children already reaped are not counted), in the order of `groups`: one sum per group, 0 for a group with
 * no process left. A process that exits while /proc is read is skipped.
 */
export function groupCpuSeconds(groups: readonly number[]): number[] {
  const ticks = groups.map(() => 0);
  if (groups.length === 0) return ticks;
  for (const d of readdirSync('/proc')) {
    if (d.charCodeAt(0) > 57) continue; // not a pid
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
      // After the command name: state, ppid, pgrp (index 2), …, utime (11), stime (12).
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const i = groups.indexOf(Number(f[2]));
      if (i !== -1) ticks[i] = (ticks[i] as number) + Number(f[11]) + Number(f[12]);
    } catch {
      // gone, or not a process
    }
  }
  return ticks.map((t) => t / USER_HZ);
}

/**
 * VmHWM of `pid` in bytes: the most memory it has held resident since it started.
 * @throws Error when the process is gone or /proc has no VmHWM line.
 */
export function peakRssBytes(pid: number): number {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/status has no VmHWM line`);
  return Number(m[1]) * 1024;
}
