import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ConfigError } from '../../instrumentation/config.ts';
import { parseHostPort, type HostPort } from '../kit/host-port.ts';
import { CACHE_KINDS, MAX_MOUNTS, type CacheKind } from './contract.ts';

/**
 * Command line of the node-agent host exporter:
 *
 *   otel-contracts trc-agent [--mount PATH ...] [--volume-pool PATH] [--cache oci=DIR --cache rootdisks=DIR --cache tmp=DIR]
 *                            [--wg-interface NAME ...] [--disk-pressure-free-pct N] [--metrics HOST:PORT]
 *                            [--cache-interval SECONDS] [--wg-interval SECONDS]
 */

/** One cache directory and the `kind` its series carry. */
export interface CacheDir {
  readonly kind: CacheKind;
  /** Absolute path. */
  readonly dir: string;
}

/** Resolved configuration of one trc-agent process. Durations in milliseconds. */
export interface TrcAgentConfig {
  /** Absolute paths, each the `mount` label of `trc_agent_disk_free_bytes`; at most {@link MAX_MOUNTS}, `/` when none is given. */
  readonly mounts: readonly string[];
  /** Absolute path of the volume pool's filesystem, or undefined (no `trc_agent_volume_pool_*` series). */
  readonly volumePool: string | undefined;
  /** At most one directory per kind. */
  readonly caches: readonly CacheDir[];
  /** WireGuard interfaces read with `wg show <if> dump`; none: the overlay families have no series. */
  readonly wgInterfaces: readonly string[];
  /** `trc_agent_disk_pressure{kind}` is 1 when free space (or free inodes) is below this percentage of the total. */
  readonly pressureFreePct: number;
  /** Where `/metrics` and `/healthz` listen. */
  readonly metrics: HostPort;
  /** Pause between the end of one round of cache walks and the start of the next. */
  readonly cacheIntervalMs: number;
  /** Pause between two reads of the WireGuard interfaces. */
  readonly wgIntervalMs: number;
}

/**
 * Default `/metrics` address: loopback, clear of the stack and the other components (4317/4318 collector,
 * 8888/8889, 9090 Prometheus, 9091 Pushgateway, 3000 podtrace, 3001 Grafana, 9464 sample, 18080 egress
 * sidecar, 18090 ops proxy, 8080 masque-vpn, 15353 DNS).
 */
export const DEFAULT_METRICS = '127.0.0.1:18097';

/** A Linux interface name: 1..15 characters, no `/`, no white space, not `.` or `..`. */
const IFNAME = /^[A-Za-z0-9_.=+:-]{1,15}$/;

const repeat = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

function buildProgram(): Command {
  return new Command('trc-agent')
    .description('trc node-agent host exporter: disks, volume pool, caches and WireGuard overlay as the trc_agent_* families (seed 002, section E)')
    .addOption(new Option('--mount <path>', 'a filesystem for trc_agent_disk_free_bytes{mount} (repeatable, at most 16; default /)').argParser(repeat))
    .addOption(new Option('--volume-pool <path>', "the volume pool's filesystem (trc_agent_volume_pool_free_bytes / _used_bytes)"))
    .addOption(new Option('--cache <kind=dir>', 'a cache directory: oci=DIR, rootdisks=DIR or tmp=DIR (repeatable, one per kind)').argParser(repeat))
    .addOption(new Option('--wg-interface <name>', 'a WireGuard interface read with `wg show NAME dump` (repeatable)').argParser(repeat))
    .addOption(new Option('--disk-pressure-free-pct <n>', 'trc_agent_disk_pressure is 1 below this free percentage').default('10'))
    .addOption(new Option('--metrics <host:port>', '/metrics and /healthz address').default(DEFAULT_METRICS))
    .addOption(new Option('--cache-interval <seconds>', 'pause between two rounds of cache walks').default('30'))
    .addOption(new Option('--wg-interval <seconds>', 'pause between two reads of the WireGuard interfaces').default('5'))
    .exitOverride()
    .allowExcessArguments(false);
}

function number(raw: string, what: string, min: number, max: number): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < min || v > max) throw new ConfigError(`${what} "${raw}": expected a number from ${min} to ${max}`);
  return v;
}

function absolute(raw: string, what: string): string {
  if (raw.trim() === '' || raw.includes('\0')) throw new ConfigError(`${what} "${raw}": expected a path`);
  return resolve(raw);
}

function mountsOf(raw: readonly string[]): string[] {
  const mounts = (raw.length ? raw : ['/']).map((m) => absolute(m, '--mount'));
  const dup = mounts.find((m, i) => mounts.indexOf(m) !== i);
  if (dup !== undefined) throw new ConfigError(`--mount: "${dup}" is given twice`);
  if (mounts.length > MAX_MOUNTS) throw new ConfigError(`--mount: ${mounts.length} given; at most ${MAX_MOUNTS} (the contract bounds the mount label)`);
  return mounts;
}

function cachesOf(raw: readonly string[]): CacheDir[] {
  const caches: CacheDir[] = [];
  for (const c of raw) {
    const eq = c.indexOf('=');
    const kind = c.slice(0, Math.max(eq, 0));
    if (eq <= 0 || !(CACHE_KINDS as readonly string[]).includes(kind)) throw new ConfigError(`--cache "${c}": expected KIND=DIR with KIND one of ${CACHE_KINDS.join(', ')}`);
    if (caches.some((x) => x.kind === kind)) throw new ConfigError(`--cache: kind "${kind}" is given twice`);
    caches.push({ kind: kind as CacheKind, dir: absolute(c.slice(eq + 1), `--cache ${kind}`) });
  }
  return caches;
}

function interfacesOf(raw: readonly string[]): string[] {
  for (const name of raw) {
    if (!IFNAME.test(name) || name === '.' || name === '..' || name === 'all' || name === 'interfaces') {
      throw new ConfigError(`--wg-interface "${name}": expected an interface name (1 to 15 letters, digits or _.=+:-; not all or interfaces)`);
    }
  }
  const dup = raw.find((n, i) => raw.indexOf(n) !== i);
  if (dup !== undefined) throw new ConfigError(`--wg-interface: "${dup}" is given twice`);
  return [...raw];
}

/**
 * Reads the flags (`argv` without node and script). Paths are resolved against the working directory;
 * whether they exist is checked when the agent starts.
 * @throws ConfigError (or HostPortError) naming the flag; CommanderError for unknown flags and `--help`.
 */
export function readTrcAgentConfig(argv: readonly string[]): TrcAgentConfig {
  const program = buildProgram();
  program.parse([...argv], { from: 'user' });
  const o = program.opts<Record<string, string | string[] | undefined>>();
  const many = (k: string) => (o[k] as string[] | undefined) ?? [];
  const one = (k: string) => o[k] as string;
  const pool = o.volumePool as string | undefined;
  return {
    mounts: mountsOf(many('mount')),
    volumePool: pool === undefined ? undefined : absolute(pool, '--volume-pool'),
    caches: cachesOf(many('cache')),
    wgInterfaces: interfacesOf(many('wgInterface')),
    pressureFreePct: number(one('diskPressureFreePct'), '--disk-pressure-free-pct', 0, 100),
    metrics: parseHostPort(one('metrics'), '--metrics', 'listen'),
    cacheIntervalMs: Math.round(number(one('cacheInterval'), '--cache-interval', 0.05, 86_400) * 1000),
    wgIntervalMs: Math.round(number(one('wgInterval'), '--wg-interval', 0.05, 3_600) * 1000),
  };
}
