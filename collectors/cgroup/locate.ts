import { isAbsolute, join } from 'node:path';
import { untraced } from '../runtime/untraced.ts';

/** Where this process's cgroup files are. */
export type CgroupLocation =
  | { readonly version: 2; readonly dir: string }
  | { readonly version: 1; readonly dirs: Readonly<Partial<Record<V1Controller, string>>> };

/** The v1 controllers read. */
export type V1Controller = 'memory' | 'cpu' | 'cpuacct' | 'blkio';
const V1_CONTROLLERS: readonly V1Controller[] = ['memory', 'cpu', 'cpuacct', 'blkio'];

/** Options of {@link locateCgroup}: both paths are overridable so that fixtures stand in for the live system. */
export interface LocateOptions {
  /** The cgroup file-system mount (default `/sys/fs/cgroup`). */
  readonly root?: string;
  /** The process's membership file (default `/proc/self/cgroup`). */
  readonly procSelfCgroup?: string;
}

/** One line of /proc/self/cgroup: `hierarchy-id:controller-list:path`. */
export interface CgroupMembership {
  readonly id: string;
  readonly controllers: readonly string[];
  readonly path: string;
}

/** Parses /proc/self/cgroup. Malformed lines are skipped. */
export function parseProcCgroup(text: string): CgroupMembership[] {
  const out: CgroupMembership[] = [];
  for (const line of text.split('\n')) {
    const m = /^([^:]+):([^:]*):(.*)$/.exec(line.trim());
    if (m) out.push({ id: m[1] as string, controllers: (m[2] as string).split(',').filter(Boolean), path: m[3] as string });
  }
  return out;
}

/**
 * Finds this process's cgroup directories.
 *
 * - v2 (unified): `<root>/cgroup.controllers` exists; the directory is `<root><path of the "0::" line>`.
 * - v1 (also hybrid hosts, whose controllers are v1 with an empty v2 tree beside them): per controller,
 *   `<root>/<controller><path of the line naming it>` (`/sys/fs/cgroup/cpu` is usually a link to
 *   `cpu,cpuacct`, so the controller name works as the directory name).
 *
 * When that directory does not exist the controller's mount itself is used: inside a container with a
 * private cgroup namespace or a bind-mounted cgroup, /proc/self/cgroup shows the host's path while the
 * container's own cgroup is mounted at the root.
 *
 * @returns undefined when no membership file or cgroup mount is found. Never throws.
 */
export function locateCgroup(opts: LocateOptions = {}): CgroupLocation | undefined {
  const root = opts.root ?? '/sys/fs/cgroup';
  let memberships: CgroupMembership[];
  try {
    memberships = parseProcCgroup(untraced.readFileSync(opts.procSelfCgroup ?? '/proc/self/cgroup', 'utf8'));
  } catch {
    return undefined;
  }
  const exists = (p: string) => {
    try {
      return untraced.existsSync(p);
    } catch {
      return false;
    }
  };
  const under = (mount: string, path: string) => {
    const dir = join(mount, isAbsolute(path) ? path : `/${path}`);
    return exists(dir) ? dir : mount;
  };
  if (exists(join(root, 'cgroup.controllers'))) {
    const unified = memberships.find((m) => m.id === '0' && m.controllers.length === 0);
    return { version: 2, dir: under(root, unified?.path ?? '/') };
  }
  const dirs: Partial<Record<V1Controller, string>> = {};
  for (const c of V1_CONTROLLERS) {
    const mount = join(root, c);
    if (!exists(mount)) continue;
    const m = memberships.find((x) => x.controllers.includes(c));
    dirs[c] = under(mount, m?.path ?? '/');
  }
  return Object.keys(dirs).length > 0 ? { version: 1, dirs } : undefined;
}
