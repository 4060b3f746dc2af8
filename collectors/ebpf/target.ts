import { existsSync, readdirSync, readFileSync, realpathSync, statfsSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { CgroupLocation, V1Controller } from '../cgroup/locate.ts';
import { locateCgroup } from '../cgroup/locate.ts';
import type { Selection } from './program.ts';
import { EbpfInputError } from './prereq.ts';

/** What the command line asked to trace. */
export type TargetRequest = { readonly pids: readonly string[] } | { readonly cgroup: string } | { readonly comm: string };

/** A resolved target: what the program filters on, and where the resource families are read. */
export interface Target {
  readonly selection: Selection;
  /** The cgroup to read the resource families from; re-resolved each reading when it depends on a live process. */
  readonly cgroup: () => CgroupLocation | undefined;
  /** Pids whose /proc/PID/maps name the libc to probe (besides the system one). */
  readonly samplePids: readonly number[];
  /** Notes for the start-up log (e.g. a truncated comm). */
  readonly notes: readonly string[];
  /**
   * The `process_name`s known at start, whose series start at zero before bpftrace attaches: the command
   * name of each `--pid` process, of each process in the `--cgroup` tree, or the `--comm` name itself.
   * Processes forked or moved in later bring their names with their first event.
   */
  readonly knownProcessNames: readonly string[];
  /**
   * Whether the target still lives (checked before restarting a bpftrace that died): a given pid is
   * alive (`--pid`, cgroup v1), the cgroup directory exists (cgroup v2), a process has the comm (`--comm`).
   */
  readonly alive: () => boolean;
}

const CGROUP2_SUPER_MAGIC = 0x63677270;
const V1_CONTROLLERS: readonly V1Controller[] = ['memory', 'cpu', 'cpuacct', 'blkio'];

/** The thread-group id of `pid`, or undefined when there is no such process. */
function tgidOf(pid: number, proc: string): number | undefined {
  try {
    const m = /^Tgid:\s*(\d+)/m.exec(readFileSync(join(proc, String(pid), 'status'), 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every process on the host right now with its command name (`/proc/PID/comm`), in `proc` order. A process
 * that exits while the directory is read is left out; an unreadable `proc` gives none.
 */
export function processComms(proc = '/proc'): [pid: number, comm: string][] {
  const out: [number, string][] = [];
  let entries: string[];
  try {
    entries = readdirSync(proc);
  } catch {
    return out;
  }
  for (const d of entries) {
    if (!/^\d+$/.test(d)) continue;
    try {
      out.push([Number(d), readFileSync(join(proc, d, 'comm'), 'utf8').trim()]);
    } catch {
      // gone
    }
  }
  return out;
}

/** The command name of process `pid` (its thread-group leader's: what the probes report), or undefined once it is gone. */
function commOf(pid: number, proc: string): string | undefined {
  try {
    return readFileSync(join(proc, String(pid), 'comm'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The distinct command names of `pids` that are still there. */
function commsOf(pids: readonly number[], proc: string): string[] {
  return [...new Set(pids.map((p) => commOf(p, proc)).filter((c): c is string => c !== undefined && c !== ''))];
}

/** Pids whose comm is `comm` right now. */
function pidsByComm(comm: string, proc: string): number[] {
  return processComms(proc)
    .filter(([, c]) => c === comm)
    .map(([pid]) => pid);
}

/** The cgroup of a live process (undefined once it is gone). */
function cgroupOfPid(pid: number, proc: string): CgroupLocation | undefined {
  return existsSync(join(proc, String(pid))) ? locateCgroup({ procSelfCgroup: join(proc, String(pid), 'cgroup') }) : undefined;
}

/** The directory and all directories below it. */
function walkDirs(dir: string): string[] {
  const out = [dir];
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(...walkDirs(join(dir, e.name)));
  return out;
}

/**
 * Resolves the command line's target.
 *
 * - `--pid`: each must be a live process (a thread id is taken as its process); its descendants follow.
 * - `--cgroup`: a cgroup directory. v2: filtered in the kernel by cgroup id, the cgroup and the
 *   descendants that exist at start. v1 (no v2 id to filter on): the processes in it (and below it)
 *   at start, then their descendants, as for `--pid`.
 * - `--comm`: the command name as the kernel keeps it (15 characters; a longer one is cut, with a note).
 *
 * @throws EbpfInputError for a pid that does not exist, a path that is not a cgroup, a v1 cgroup without
 *   processes, or a bad comm.
 */
export function resolveTarget(req: TargetRequest, opts: { readonly proc?: string; readonly cgroupRoot?: string } = {}): Target {
  const proc = opts.proc ?? '/proc';
  const root = opts.cgroupRoot ?? '/sys/fs/cgroup';
  if ('pids' in req) {
    if (req.pids.length === 0) throw new EbpfInputError('--pid needs at least one process id');
    const pids: number[] = [];
    for (const raw of req.pids) {
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n <= 0) throw new EbpfInputError(`--pid ${raw}: expected a positive process id`);
      const tgid = tgidOf(n, proc);
      if (tgid === undefined) throw new EbpfInputError(`--pid ${raw}: no such process (it may have exited); find the one to trace with \`pgrep -a NAME\` or \`ps -e\``);
      if (!pids.includes(tgid)) pids.push(tgid);
    }
    const first = pids[0] as number;
    return {
      selection: { kind: 'pid', pids },
      cgroup: () => cgroupOfPid(first, proc),
      samplePids: pids,
      notes: [],
      knownProcessNames: commsOf(pids, proc),
      alive: () => pids.some((p) => existsSync(join(proc, String(p)))),
    };
  }
  if ('cgroup' in req) {
    const path = req.cgroup;
    if (!existsSync(join(path, 'cgroup.procs'))) {
      throw new EbpfInputError(`--cgroup ${path}: not a cgroup directory (no cgroup.procs there); give a directory under ${root}, e.g. one listed by \`cat /proc/PID/cgroup\``);
    }
    const dir = realpathSync(path);
    const procsIn = (d: string) =>
      readFileSync(join(d, 'cgroup.procs'), 'utf8')
        .split('\n')
        .filter((l) => /^\d+$/.test(l.trim()))
        .map(Number);
    if (statfsSync(dir).type === CGROUP2_SUPER_MAGIC) {
      const ids = walkDirs(dir).map((d) => statSync(d, { bigint: true }).ino);
      const location: CgroupLocation = { version: 2, dir };
      const inside = walkDirs(dir).flatMap(procsIn);
      return {
        selection: { kind: 'cgroup', ids },
        cgroup: () => location,
        samplePids: procsIn(dir).slice(0, 1),
        notes: [],
        knownProcessNames: commsOf(inside, proc),
        alive: () => existsSync(join(dir, 'cgroup.procs')),
      };
    }
    const pids = [...new Set(walkDirs(dir).flatMap(procsIn))];
    if (pids.length === 0) {
      throw new EbpfInputError(`--cgroup ${path}: a cgroup v1 directory without processes; with cgroup v1 the processes in it at start (and their descendants) are traced, so start the workload first, or use a cgroup v2 directory`);
    }
    // v1: the same relative path under each controller's mount.
    const rel = relative(root, dir).split(sep).slice(1).join(sep);
    const dirs: Partial<Record<V1Controller, string>> = {};
    for (const c of V1_CONTROLLERS) {
      const d = join(root, c, rel);
      if (existsSync(d)) dirs[c] = d;
    }
    const location: CgroupLocation = { version: 1, dirs };
    return {
      selection: { kind: 'pid', pids },
      cgroup: () => location,
      samplePids: pids.slice(0, 1),
      knownProcessNames: commsOf(pids, proc),
      alive: () => pids.some((p) => existsSync(join(proc, String(p)))),
      notes: [`cgroup v1: tracing the ${pids.length} process(es) in ${dir} at start and their descendants`],
    };
  }
  const comm = req.comm;
  if (!/^[^"\\\n]+$/.test(comm)) throw new EbpfInputError(`--comm "${comm}": expected a command name without quotes or backslashes`);
  const cut = comm.slice(0, 15);
  const notes = cut !== comm ? [`--comm "${comm}" cut to "${cut}": the kernel keeps 15 characters of a command name`] : [];
  let known: number | undefined;
  return {
    selection: { kind: 'comm', comm: cut },
    cgroup: () => {
      const loc = known !== undefined ? cgroupOfPid(known, proc) : undefined;
      if (loc) return loc;
      known = pidsByComm(cut, proc)[0];
      return known !== undefined ? cgroupOfPid(known, proc) : undefined;
    },
    samplePids: pidsByComm(cut, proc).slice(0, 1),
    notes,
    knownProcessNames: [cut],
    alive: () => pidsByComm(cut, proc).length > 0,
  };
}

/** Where libc usually is, for the system's own programs. */
const SYSTEM_LIBCS = ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/aarch64-linux-gnu/libc.so.6', '/lib64/libc.so.6', '/usr/lib/libc.so.6', '/lib/ld-musl-x86_64.so.1', '/lib/ld-musl-aarch64.so.1'];

/**
 * The libc files to put resolver uprobes on: the system's, plus those the sample processes map (seen
 * through /proc/PID/root when they live in another mount namespace). De-duplicated by real path, since
 * a uprobe is per file and two probes on one file would time each call twice.
 */
export function libcPaths(samplePids: readonly number[], proc = '/proc'): string[] {
  const found = new Map<string, string>();
  const add = (p: string) => {
    try {
      const real = realpathSync(p);
      if (!found.has(real)) found.set(real, p);
    } catch {
      // not there
    }
  };
  for (const p of SYSTEM_LIBCS) {
    if (existsSync(p)) {
      add(p);
      break;
    }
  }
  for (const pid of samplePids) {
    let maps = '';
    try {
      maps = readFileSync(join(proc, String(pid), 'maps'), 'utf8');
    } catch {
      continue;
    }
    for (const m of maps.matchAll(/\s(\/\S*\/(?:libc\.so\.6|libc-[\d.]+\.so|ld-musl-[\w-]+\.so\.1|libc\.musl-[\w-]+\.so\.1))$/gm)) {
      const file = m[1] as string;
      add(existsSync(file) ? file : join(proc, String(pid), 'root', file));
    }
  }
  return [...found.values()].filter((p) => !/[\s,:]/.test(p));
}
