import { basename, extname } from 'node:path';
import { RUNTIME_COLLECTORS, type RuntimeCollectorName } from '../collectors/runtime/index.ts';
import { componentContracts, type ComponentContractId } from '../semconv/index.ts';

/** Every collector name `OTEL_CONTRACTS_COLLECTORS` accepts; `runtime` stands for all runtime ones. */
export const COLLECTOR_NAMES = [...RUNTIME_COLLECTORS, 'cgroup', 'http'] as const;
export type CollectorName = (typeof COLLECTOR_NAMES)[number];

/** The preload's own settings (the pipeline reads the `OTEL_*` ones itself). Intervals in ms. */
export interface PreloadOptions {
  readonly collectors: ReadonlySet<CollectorName>;
  /** Names in `OTEL_CONTRACTS_COLLECTORS` that are not collectors (logged, ignored). */
  readonly unknown: readonly string[];
  readonly serviceName: string;
  readonly httpRoutes?: string;
  readonly cpuIntervalMs?: number;
  readonly rttIntervalMs?: number;
  readonly bytesIntervalMs?: number;
  readonly cgroupIntervalMs?: number;
  readonly cgroupRoot?: string;
  /** Contracts the app records into itself through {@link preloadPipeline}, from `OTEL_CONTRACTS_APP_CONTRACTS`. */
  readonly appContracts: readonly ComponentContractId[];
  /** Names in `OTEL_CONTRACTS_APP_CONTRACTS` that are not contracts (logged, ignored). */
  readonly unknownContracts: readonly string[];
}

/**
 * Reads the preload's variables. Never throws: a bad interval is ignored (default kept).
 *
 * - `OTEL_CONTRACTS_COLLECTORS`: comma list of `runtime` (= `dns,tcp,rtt,bytes,fs,cpu`), `dns`, `tcp`, `rtt`,
 *   `bytes`, `fs`, `cpu`, `cgroup`, `http`, or `none`; default all.
 * - `OTEL_CONTRACTS_HTTP_ROUTES`: configured route templates, e.g. `/users/:id,/orders/:id/items`.
 * - `OTEL_CONTRACTS_CPU_INTERVAL_MS` (1000), `OTEL_CONTRACTS_RTT_INTERVAL_MS` (10000),
 *   `OTEL_CONTRACTS_BYTES_INTERVAL_MS` (5000), `OTEL_CONTRACTS_CGROUP_INTERVAL_MS` (5000),
 *   `OTEL_CONTRACTS_CGROUP_ROOT` (`/sys/fs/cgroup`).
 * - `OTEL_CONTRACTS_APP_CONTRACTS`: comma list of contract ids (`trc`, `egress`, `ops-proxy`, `podtrace`,
 *   `masque-vpn`) the app records into itself through the preload's pipeline (`preloadPipeline()`): every
 *   family of each is then in the preload's exposition and push; default none.
 * - service name default: the app script's base name without extension (`node` for `-e`/REPL);
 *   `OTEL_SERVICE_NAME` overrides it inside the pipeline.
 */
export function readPreloadOptions(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv): PreloadOptions {
  const raw = env.OTEL_CONTRACTS_COLLECTORS?.trim();
  const collectors = new Set<CollectorName>();
  const unknown: string[] = [];
  if (!raw) for (const n of COLLECTOR_NAMES) collectors.add(n);
  else {
    for (const part of raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
      if (part === 'none') continue;
      if (part === 'runtime') for (const n of RUNTIME_COLLECTORS) collectors.add(n);
      else if ((COLLECTOR_NAMES as readonly string[]).includes(part)) collectors.add(part as CollectorName);
      else unknown.push(part);
    }
  }
  const interval = (name: string) => {
    const v = Number(env[name]);
    return Number.isInteger(v) && v > 0 ? v : undefined;
  };
  const script = argv[1];
  return {
    collectors,
    unknown,
    serviceName: script ? basename(script, extname(script)) || 'node' : 'node',
    httpRoutes: env.OTEL_CONTRACTS_HTTP_ROUTES,
    cpuIntervalMs: interval('OTEL_CONTRACTS_CPU_INTERVAL_MS'),
    rttIntervalMs: interval('OTEL_CONTRACTS_RTT_INTERVAL_MS'),
    bytesIntervalMs: interval('OTEL_CONTRACTS_BYTES_INTERVAL_MS'),
    cgroupIntervalMs: interval('OTEL_CONTRACTS_CGROUP_INTERVAL_MS'),
    cgroupRoot: env.OTEL_CONTRACTS_CGROUP_ROOT?.trim() || undefined,
    ...appContractsOf(env.OTEL_CONTRACTS_APP_CONTRACTS),
  };
}

/** The runtime collectors among the chosen ones. */
export function runtimeSubset(collectors: ReadonlySet<CollectorName>): Set<RuntimeCollectorName> {
  return new Set(RUNTIME_COLLECTORS.filter((n) => collectors.has(n)));
}

function appContractsOf(raw: string | undefined): { appContracts: ComponentContractId[]; unknownContracts: string[] } {
  const appContracts: ComponentContractId[] = [];
  const unknownContracts: string[] = [];
  for (const part of (raw ?? '').split(',').map((x) => x.trim().toLowerCase()).filter(Boolean)) {
    if (Object.hasOwn(componentContracts, part)) {
      if (!appContracts.includes(part as ComponentContractId)) appContracts.push(part as ComponentContractId);
    } else unknownContracts.push(part);
  }
  return { appContracts, unknownContracts };
}
