/**
 * Test support: real cgroups with a memory limit and a CPU quota, made (as root) in the hierarchy this host's
 * controllers are on, and removed afterwards. On cgroup v2 (production hosts) one directory under
 * `/sys/fs/cgroup` with `memory.max` and `cpu.max`; on v1 and hybrid hosts (whose controllers are v1 beside an
 * empty v2 tree) one directory per controller (`memory/`, `cpu/`, `cpuacct/`) with `memory.limit_in_bytes`
 * and `cpu.cfs_quota_us`/`cpu.cfs_period_us`. The version that is not present is covered by fixture trees
 * (collectors/cgroup/fixtures/).
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupLocation, V1Controller } from '../collectors/cgroup/locate.ts';
import { pollUntil } from './poll.ts';

const ROOT = '/sys/fs/cgroup';

/** The cgroup version this host's controllers are on: 2 when `/sys/fs/cgroup` is the unified hierarchy, else 1 (v1 or hybrid). */
export function hostCgroupVersion(): 1 | 2 {
  return existsSync(join(ROOT, 'cgroup.controllers')) ? 2 : 1;
}

/** The limits a {@link makeLimitedCgroup} gets. */
export interface Limits {
  readonly memoryBytes: number;
  readonly cpuQuotaUs: number;
  readonly cpuPeriodUs: number;
}

/** A cgroup made by {@link makeLimitedCgroup}. */
export interface LimitedCgroup {
  readonly version: 1 | 2;
  /** Where a reader finds its files (what `locateCgroup` returns for a process in it). */
  readonly location: CgroupLocation;
  /** Moves the process `pid` into it (every controller's directory on v1). */
  join(pid: number): void;
  /** Waits (at most 10 s) until no process is left in it, then removes it. Nothing when it is gone already. */
  remove(): Promise<void>;
}

/**
 * Makes `otel-contracts-<purpose>-<pid>` with `limits`, as root.
 * @throws Error when this host offers no memory and cpu controllers to make it with (not root, or on v2
 *   memory/cpu not enabled in the root's `cgroup.subtree_control` and not enableable).
 */
export function makeLimitedCgroup(purpose: string, limits: Limits): LimitedCgroup {
  const name = `otel-contracts-${purpose}-${process.pid}`;
  if (hostCgroupVersion() === 2) {
    const enabled = readFileSync(join(ROOT, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
    for (const c of ['memory', 'cpu']) if (!enabled.includes(c)) writeFileSync(join(ROOT, 'cgroup.subtree_control'), `+${c}`);
    const dir = join(ROOT, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'memory.max'), String(limits.memoryBytes));
    writeFileSync(join(dir, 'cpu.max'), `${limits.cpuQuotaUs} ${limits.cpuPeriodUs}`);
    return { version: 2, location: { version: 2, dir }, join: (pid) => writeFileSync(join(dir, 'cgroup.procs'), String(pid)), remove: () => removeDirs([dir]) };
  }
  const dirs: Partial<Record<V1Controller, string>> = {};
  const made: string[] = [];
  for (const c of ['memory', 'cpu', 'cpuacct'] as const) {
    const dir = join(ROOT, c, name);
    // `cpu` and `cpuacct` are often one mount (`cpu,cpuacct`) reached by two links: one directory for both.
    const same = made.find((d) => existsSync(dir) && realpathSync(d) === realpathSync(dir));
    if (!same) {
      mkdirSync(dir);
      made.push(dir);
    }
    dirs[c] = dir;
  }
  writeFileSync(join(dirs.memory as string, 'memory.limit_in_bytes'), String(limits.memoryBytes));
  writeFileSync(join(dirs.cpu as string, 'cpu.cfs_period_us'), String(limits.cpuPeriodUs));
  writeFileSync(join(dirs.cpu as string, 'cpu.cfs_quota_us'), String(limits.cpuQuotaUs));
  return {
    version: 1,
    location: { version: 1, dirs },
    join: (pid) => {
      for (const d of made) writeFileSync(join(d, 'cgroup.procs'), String(pid));
    },
    remove: () => removeDirs(made),
  };
}

async function removeDirs(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    const procs = () => readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter((l) => l.trim() !== '');
    await pollUntil(`${dir} empty`, async () => procs(), (p) => p.length === 0, { timeoutMs: 10_000, intervalMs: 100 });
    rmdirSync(dir);
  }
}
