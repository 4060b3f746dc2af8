import { performance } from 'node:perf_hooks';
import type { Collector, PodtraceRecorders } from '../types.ts';
import { locateCgroup, type CgroupLocation, type LocateOptions } from './locate.ts';
import { resolveNamespace } from './namespace.ts';
import { readCgroupV1 } from './read-v1.ts';
import { readCgroupV2 } from './read-v2.ts';
import { createCgroupRecorder } from './record.ts';
import type { CgroupSample } from './sample.ts';

/** Options of {@link startCgroupCollector}. */
export interface CgroupCollectorOptions extends LocateOptions {
  /** Reading interval in ms (default 5000, the doc's "every 5 seconds by default"). */
  readonly intervalMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

/** Reads one sample from a located cgroup. Never throws. */
export function readCgroup(location: CgroupLocation): CgroupSample {
  return location.version === 2 ? readCgroupV2(location.dir) : readCgroupV1(location.dirs);
}

/**
 * The podtrace resource families from this process's cgroup (v1 or v2, see {@link locateCgroup}),
 * read at start and then every `intervalMs` on an unref'd timer; see {@link createCgroupRecorder} for
 * what is recorded, and how unlimited resources are left out. `namespace` from {@link resolveNamespace}.
 *
 * @throws Error when no cgroup is found (no /proc/self/cgroup or no cgroup mount): the caller logs it.
 */
export function startCgroupCollector(rec: PodtraceRecorders, opts: CgroupCollectorOptions = {}): Collector & { readonly location: CgroupLocation } {
  const location = locateCgroup(opts);
  if (!location) throw new Error(`no cgroup found (${opts.procSelfCgroup ?? '/proc/self/cgroup'}, ${opts.root ?? '/sys/fs/cgroup'})`);
  const record = createCgroupRecorder(rec, resolveNamespace(opts.env));
  const tick = () => record(readCgroup(location), performance.now());
  tick();
  const timer = setInterval(tick, opts.intervalMs ?? 5_000);
  timer.unref();
  const where = location.version === 2 ? location.dir : (location.dirs.memory ?? Object.values(location.dirs)[0] ?? '');
  return {
    name: 'cgroup',
    source: `cgroup v${location.version} ${where}`,
    location,
    stop: () => clearInterval(timer),
  };
}
