// PID files: .stack/<part>.json records the process `up` started, so that `down` (from any
// process) stops that process and nothing else, even after the PID has been reused.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resolved } from './parts.ts';
import { isRoleName } from './topology.ts';
import type { RoleName } from './topology.ts';

/** What a PID file holds. */
export interface PidRecord {
  pid: number;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22): survives exec, detects PID reuse. */
  startTicks: string | null;
  bin: string;
  args: string[];
  startedAt: string;
}

/** A part's PID file in the state directory. */
export function pidFile(r: Resolved, name: RoleName): string {
  return join(r.stateDir, `${name}.json`);
}

/** The fields of /proc/<pid>/stat after the command name (field 3, the state, first); null without /proc or process. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** True while `pid` runs (an exited but unreaped zombie does not). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped by its parent) is not running. No /proc (not Linux): trust kill(0).
  const state = statFields(pid)?.[0]?.charAt(0);
  return state !== 'Z' && state !== 'X';
}

/** Process start time of `pid` in clock ticks since boot, to tell it from a later process with the same PID; null without /proc. */
export function procStartTicks(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/** Records `pid` (just spawned from `bin args`) as the running `name`. */
export function writePidFile(r: Resolved, name: RoleName, pid: number, bin: string, args: string[]): void {
  const rec: PidRecord = { pid, startTicks: procStartTicks(pid), bin, args, startedAt: new Date().toISOString() };
  writeFileSync(pidFile(r, name), `${JSON.stringify(rec, null, 2)}\n`);
}

/** The PID in the state file, if that process is alive and is still the one we started (no PID reuse). */
export function readOwnedPid(r: Resolved, name: RoleName): number | null {
  const file = pidFile(r, name);
  if (!existsSync(file)) return null;
  let rec: PidRecord;
  try {
    rec = JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
  } catch {
    return null;
  }
  if (!Number.isInteger(rec.pid) || rec.pid <= 0 || !isAlive(rec.pid)) return null;
  const ticks = procStartTicks(rec.pid);
  if (rec.startTicks && ticks) return ticks === rec.startTicks ? rec.pid : null;
  try {
    const cmdline = readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0');
    const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
    if (!cmdline[0] || base(cmdline[0]) !== base(rec.bin)) return null;
  } catch {
    // no /proc: accept
  }
  return rec.pid;
}

/** The roles that have a PID file in the state directory whose process is still ours and alive. */
export function runningParts(r: Resolved): RoleName[] {
  let files: string[];
  try {
    files = readdirSync(r.stateDir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const names = files.map((f) => f.slice(0, -'.json'.length)).filter(isRoleName);
  return names.filter((n) => readOwnedPid(r, n) !== null);
}
