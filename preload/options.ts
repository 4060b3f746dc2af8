import { basename, extname } from 'node:path';
import { RUNTIME_COLLECTORS, type RuntimeCollectorName } from '../collectors/runtime/index.ts';
import { componentContracts, type ComponentContractId } from '../semconv/index.ts';
import type { ContractSpec } from '../semconv/types.ts';

/** Every collector name `OTEL_CONTRACTS_COLLECTORS` accepts; `runtime` stands for all runtime ones. */
export const COLLECTOR_NAMES = [...RUNTIME_COLLECTORS, 'cgroup', 'http'] as const;
export type CollectorName = (typeof COLLECTOR_NAMES)[number];

/**
 * A contract the app records into: all of it, or only the families of the named components (trc's
 * `control-plane`, `projections`, `scheduler`, `agent`, `edge`), so that a service never exports at 0
 * the families of a component it is not (an idle scheduler counter would make a stall alert fire).
 */
export interface AppContract {
  readonly id: ComponentContractId;
  /** Undefined: the whole contract. */
  readonly components?: ReadonlySet<string>;
}

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
  /** Contracts the app records into itself through `preloadPipeline()`, from `OTEL_CONTRACTS_APP_CONTRACTS`. */
  readonly appContracts: readonly AppContract[];
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
 *   `masque-vpn`), each optionally narrowed to a component as `id:component` (`trc:control-plane,trc:projections`),
 *   that the app records into itself through the preload's pipeline (`preloadPipeline()`): those families are
 *   then in the preload's exposition and push; default none.
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

function appContractsOf(raw: string | undefined): { appContracts: AppContract[]; unknownContracts: string[] } {
  const whole = new Set<ComponentContractId>();
  const parts = new Map<ComponentContractId, Set<string>>();
  const unknownContracts: string[] = [];
  for (const entry of (raw ?? '').split(',').map((x) => x.trim().toLowerCase()).filter(Boolean)) {
    const [id, component] = entry.split(':') as [string, string | undefined];
    const contract = Object.hasOwn(componentContracts, id) ? (componentContracts as Record<string, ContractSpec>)[id] : undefined;
    if (!contract || (component !== undefined && !contract.families.some((f) => f.component === component))) {
      unknownContracts.push(entry);
      continue;
    }
    const cid = id as ComponentContractId;
    if (component === undefined) whole.add(cid);
    else parts.set(cid, (parts.get(cid) ?? new Set()).add(component));
  }
  const ids = [...new Set([...whole, ...parts.keys()])];
  return { appContracts: ids.map((id) => (whole.has(id) ? { id } : { id, components: parts.get(id) as Set<string> })), unknownContracts };
}
