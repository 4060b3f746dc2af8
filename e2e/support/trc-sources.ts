/**
 * The trc dashboard and alert rules against the real trc sources, for e2e/trc-sources.test.ts: which
 * panel queries and alert expressions those sources can answer (derived from `recordedBy()`, the same
 * table that writes "Recorded by" in docs/contracts/trc.md), and the sources themselves started as
 * processes on the addresses otel-config/prometheus.yml scrapes:
 *
 * - the trc edge (`otel-contracts trc-edge`, job "trc-edge" on 127.0.0.1:18100) with a routes file in
 *   front of a real TLS backend, and of HAProxy (`accept-proxy`) for its PROXY v2 route;
 * - the trc agent (`otel-contracts trc-agent`, job "trc-agent" on 127.0.0.1:18097) on real directories;
 * - the reference control plane (examples/control-plane) under the preload, its `/metrics` on
 *   127.0.0.1:9464 (the preload's default, scraped as job "sample"), on a throwaway PostgreSQL.
 *
 * Every process goes through test/processes.ts (own process group, stopped by `stopAllProcesses()`).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { selfSignedCert } from '../../components/ops-proxy/testing/backends.ts';
import { startTagBackend, type TagBackend } from '../../components/trc-edge/testing/backends.ts';
import { routesDir, type RoutesDir, type RoutesDoc } from '../../components/trc-edge/testing/edge.ts';
import { startAcceptProxy, type AcceptProxy } from '../../components/trc-edge/testing/haproxy.ts';
import { call, demoToken, startControlPlaneApp, type RunningControlPlane } from '../../examples/control-plane/testing/harness.ts';
import { dashboardPath, REPO_ROOT, rulesPath } from '../../otel-config/generate/outputs.ts';
import { expandGrafanaMacros, metricNames, thresholdFree } from '../../otel-config/generate/promql.ts';
import { recordedBy } from '../../otel-config/generate/recorded-by.ts';
import { trc } from '../../semconv/generated/trc.ts';
import type { FamilySpec } from '../../semconv/types.ts';
import { readyLine } from '../../test/component-log.ts';
import { delay, pollUntil } from '../../test/poll.ts';
import { freePort } from '../../test/ports.ts';
import type { TestPostgres } from '../../test/postgres.ts';
import { CLI, startNode, type TestProcess } from '../../test/processes.ts';
import { PROMETHEUS_URL } from './prometheus.ts';

/** `TRC_NODE_ID` of the edge and the agent: the `node_id` of their series. */
export const NODE_ID = 'e2e-trc-sources';

/** The folders (as `recordedBy()` names them) whose code this test runs, and how. */
export const RUN_SOURCES: Readonly<Record<string, string>> = {
  'components/trc-edge': '`otel-contracts trc-edge`',
  'components/trc-agent': '`otel-contracts trc-agent`',
  'examples/control-plane': 'the reference control plane under the preload',
  'collectors/pg': "the control plane's PostgreSQL collector (instrumentPgPool)",
  'collectors/http-server': "the preload's HTTP collector, in the control plane",
};

/**
 * Families a source this test runs records, that it still cannot feed here, with the reason. The
 * agent reads the overlay from `wg show <if> dump`: it needs a WireGuard interface (root and a kernel
 * module, or wireguard-go in network namespaces, as components/trc-agent/overlay-netns.test.ts does).
 */
export const UNFED_HERE: Readonly<Record<string, string>> = {
  trc_agent_overlay_peers: 'recorded by components/trc-agent from `wg show <if> dump`: needs a WireGuard interface',
  trc_agent_overlay_handshake_age_seconds_max: 'recorded by components/trc-agent from `wg show <if> dump`: needs a WireGuard interface',
};

/** A panel target or an alert expression of the trc dashboard and rules, as Prometheus runs it. */
export interface TrcQuery {
  /** `panel` (one per target) or `rule` (the alert expression without its threshold). */
  readonly kind: 'panel' | 'rule';
  /** The panel title or the alert name: what the counts count. */
  readonly owner: string;
  /** For failure messages: `dashboard trc, panel "x" A` or `rules trc, alert X (without its threshold)`. */
  readonly origin: string;
  readonly expr: string;
  /** The trc families the expression reads (`x_bucket` counted as `x`). */
  readonly families: readonly string[];
}

const FAMILIES = new Map<string, FamilySpec>(trc.families.map((f) => [f.name, f]));

/** The family a selected metric name belongs to: itself, or a histogram's `_bucket`/`_sum`/`_count`. */
function familyOf(metric: string): string {
  if (FAMILIES.has(metric)) return metric;
  const base = metric.replace(/_(bucket|sum|count)$/, '');
  return FAMILIES.get(base)?.type === 'histogram' ? base : metric;
}

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string; refId?: string }[];
  panels?: Panel[];
}

/**
 * Every panel target of the trc dashboard (Grafana macros expanded as dashboards.test.ts does: every
 * variable `.*`, `$__rate_interval` 1m) and every trc alert expression without its threshold
 * (`thresholdFree`), each with the families it reads.
 */
export function trcQueries(): TrcQuery[] {
  const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, dashboardPath('trc')), 'utf8')) as { panels: Panel[] };
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const rules = parse(readFileSync(join(REPO_ROOT, rulesPath('trc')), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  const withFamilies = (q: Omit<TrcQuery, 'families'>): TrcQuery => ({ ...q, families: [...new Set(metricNames(q.expr).map(familyOf))] });
  return [
    ...panels.flatMap((p) =>
      (p.targets ?? []).map((t) => withFamilies({ kind: 'panel', owner: p.title, origin: `dashboard trc, panel "${p.title}" ${t.refId ?? ''}`.trim(), expr: expandGrafanaMacros(t.expr) })),
    ),
    ...rules.groups.flatMap((g) => g.rules.map((r) => withFamilies({ kind: 'rule', owner: r.alert, origin: `rules trc, alert ${r.alert} (evaluated without its threshold)`, expr: thresholdFree(r.expr) }))),
  ];
}

/** Which trc families the sources of this test feed, and why each other family is left out. */
export interface TrcScope {
  /** Families recorded by a folder of {@link RUN_SOURCES}, minus {@link UNFED_HERE}. */
  readonly fed: ReadonlySet<string>;
  /** Every other trc family, with the reason. */
  readonly excluded: ReadonlyMap<string, string>;
  /** Families recorded only by folders this test does not run (a new source: add it here). */
  readonly otherSources: ReadonlyMap<string, readonly string[]>;
}

/** The scope, from `recordedBy()` over the repository's sources (`components/sample` never counts as a source). */
export function trcScope(): TrcScope {
  const by = recordedBy(REPO_ROOT, trc.families.map((f) => f.name));
  const fed = new Set<string>();
  const excluded = new Map<string, string>();
  const otherSources = new Map<string, string[]>();
  for (const f of trc.families) {
    const folders = (by.get(f.name) ?? []).filter((d) => d !== 'components/sample');
    const run = folders.filter((d) => d in RUN_SOURCES);
    const unfed = UNFED_HERE[f.name];
    if (unfed) excluded.set(f.name, unfed);
    else if (run.length > 0) fed.add(f.name);
    else if (folders.length === 0) excluded.set(f.name, 'no real source records it (only `otel-contracts sample` serves it)');
    else {
      otherSources.set(f.name, folders);
      excluded.set(f.name, `recorded only by ${folders.join(', ')}, which this test does not run`);
    }
  }
  return { fed, excluded, otherSources };
}

/**
 * Deletes every series matching `match` from the stack's Prometheus (admin API, which the stack turns
 * on for tests), so that data left by an earlier test file (`sample --contract all`) cannot answer a query.
 * @throws Error with Prometheus' answer when it refuses.
 */
export async function deleteSeries(match: string): Promise<void> {
  const res = await fetch(`${PROMETHEUS_URL}/api/v1/admin/tsdb/delete_series?match[]=${encodeURIComponent(match)}`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  if (res.status !== 204 && res.status !== 200) throw new Error(`Prometheus delete_series ${match}: HTTP ${res.status} ${await res.text()}`);
}

/** The edge and what stands around it. */
export interface EdgeSources {
  readonly process: TestProcess;
  /** The TLS listener's port. */
  readonly tlsPort: number;
  /** The CA that verifies both TLS backends (app.test directly, pp.test behind HAProxy). */
  readonly ca: string;
  /** The routes file, and the document it holds. */
  readonly routes: RoutesDir;
  readonly doc: RoutesDoc;
  /** Closes the in-process backends and removes the temporary files (the processes: `stopAllProcesses()`). */
  close(): Promise<void>;
}

/**
 * Starts the edge on `--metrics 127.0.0.1:18100` with one TLS listener and three routes: `app.test` to a
 * TLS backend, `pp.test` (proxy_v2) to HAProxy's `accept-proxy` frontend in front of a second TLS
 * backend, and `refused.test` to a loopback port nothing listens on (health checked once a minute, two
 * failures to go down: it stays in rotation, so connections to it are refused).
 * @throws Error with the edge's output when it does not get ready.
 */
export async function startEdgeSources(): Promise<EdgeSources> {
  const alphaPem = selfSignedCert(['app.test']);
  const gammaPem = selfSignedCert(['pp.test']);
  const backends: TagBackend[] = [];
  let haproxy: AcceptProxy | undefined;
  let routes: RoutesDir | undefined;
  try {
    const alpha = await startTagBackend('alpha', alphaPem);
    backends.push(alpha);
    const gamma = await startTagBackend('gamma', gammaPem, { acceptProxyV1: true });
    backends.push(gamma);
    haproxy = await startAcceptProxy(gamma.port);
    const closed = await freePort();
    const doc: RoutesDoc = {
      routes: [
        { id: 'app', sni: 'app.test', protocol_hint: 'tls', backends: [`127.0.0.1:${alpha.port}`] },
        { id: 'pp', sni: 'pp.test', protocol_hint: 'tls', backends: [`127.0.0.1:${haproxy.port}`], proxy_v2: true },
        { id: 'refused', sni: 'refused.test', protocol_hint: 'tls', backends: [`127.0.0.1:${closed}`] },
      ],
      health: { interval_ms: 60_000, timeout_ms: 1000, unhealthy_after: 2, healthy_after: 1 },
    };
    routes = routesDir(doc);
    const p = startNode('trc-edge', [CLI, 'trc-edge', '--routes', routes.path, '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:18100'], {
      TRC_NODE_ID: NODE_ID,
      OTEL_CONTRACTS_LOG_FORMAT: 'json',
    });
    const ready = await readyLine(p, /trc edge listening/);
    const tls = (ready.listen as string[]).find((l) => l.startsWith('tls='));
    const tlsPort = Number(/:(\d+)$/.exec(tls ?? '')?.[1]);
    if (!tlsPort) throw new Error(`trc-edge: no TLS listener in its ready line ${JSON.stringify(ready)}`);
    const [hp, dir] = [haproxy, routes];
    return {
      process: p,
      tlsPort,
      ca: `${alphaPem.cert}${gammaPem.cert}`,
      routes: dir,
      doc,
      async close() {
        await Promise.all(backends.map((b) => b.close()));
        hp.remove();
        dir.remove();
      },
    };
  } catch (e) {
    await Promise.all(backends.map((b) => b.close()));
    haproxy?.remove();
    routes?.remove();
    throw e;
  }
}

/** The agent and its directories. */
export interface AgentSources {
  readonly process: TestProcess;
  /** The `oci` cache directory (holds `layer-0` .. `layer-3`). */
  readonly oci: string;
  /** The `--mount`s given, `/` and the base directory. */
  readonly mounts: readonly string[];
  /** Removes the directories. */
  remove(): void;
}

/**
 * Starts the agent on `--metrics 127.0.0.1:18097` with `/` and a temporary directory as mounts, a
 * volume pool, and the three cache kinds on real directories with files in them, walked every 0.2 s.
 * @throws Error with the agent's output when it does not get ready.
 */
export async function startAgentSources(): Promise<AgentSources> {
  const base = mkdtempSync(join(tmpdir(), 'e2e-trc-agent-'));
  const dirs = Object.fromEntries(['oci', 'rootdisks', 'tmp', 'volumes'].map((k) => [k, join(base, k)])) as Record<'oci' | 'rootdisks' | 'tmp' | 'volumes', string>;
  for (const d of Object.values(dirs)) mkdirSync(d);
  for (let i = 0; i < 4; i++) writeFileSync(join(dirs.oci, `layer-${i}`), Buffer.alloc(20_000 + i, 1));
  writeFileSync(join(dirs.rootdisks, 'root.img'), Buffer.alloc(50_000, 2));
  writeFileSync(join(dirs.tmp, 'scratch'), Buffer.alloc(5_000, 3));
  const mounts = ['/', base];
  const p = startNode(
    'trc-agent',
    [CLI, 'trc-agent', ...mounts.flatMap((m) => ['--mount', m]), '--volume-pool', dirs.volumes, '--cache', `oci=${dirs.oci}`, '--cache', `rootdisks=${dirs.rootdisks}`, '--cache', `tmp=${dirs.tmp}`, '--cache-interval', '0.2', '--metrics', '127.0.0.1:18097'],
    { TRC_NODE_ID: NODE_ID, OTEL_CONTRACTS_LOG_FORMAT: 'json' },
  );
  try {
    await p.waitForLine(/trc-agent serving/, { stream: 'stderr', timeoutMs: 30_000 });
  } catch (e) {
    await p.stop('SIGTERM', 1000);
    rmSync(base, { recursive: true, force: true });
    throw e;
  }
  return { process: p, oci: dirs.oci, mounts, remove: () => rmSync(base, { recursive: true, force: true }) };
}

/**
 * Starts the reference control plane on `databaseUrl` under the preload with its `/metrics` on
 * 127.0.0.1:9464 (examples/control-plane/testing/harness.ts: `OTEL_CONTRACTS_APP_CONTRACTS=trc:control-plane,trc:projections`, the
 * preload's HTTP collector, the catalog read at every scrape).
 * @throws Error with the app's output when it does not get ready, or serves `/metrics` elsewhere.
 */
export async function startControlPlaneSource(databaseUrl: string): Promise<RunningControlPlane> {
  const cp = await startControlPlaneApp(databaseUrl, { OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_EXPORTER_PROMETHEUS_PORT: '9464' });
  if (cp.metricsUrl !== 'http://127.0.0.1:9464/metrics') throw new Error(`control plane: /metrics at ${cp.metricsUrl}, not 127.0.0.1:9464\n${cp.app.describe()}`);
  return cp;
}

/** Bounds of the load during the database restart: requests per loop, and the pause after a failed one (pacing, not synchronisation). */
const MAX_LOAD_REQUESTS = 1500;
const PAUSE_AFTER_FAILURE_MS = 20;

/**
 * Restarts the control plane's database (SIGKILL, then the same data and port) under a load of
 * `create_deploy` commands, as examples/control-plane/restart.test.ts does, until five succeed after the
 * restart: the commands answered while it is down are 503s. Returns every status seen (-1: no answer).
 * @throws Error when the load does not get under way, or no command succeeds again within 30 s.
 */
export async function restartDatabaseUnderLoad(cp: RunningControlPlane, db: TestPostgres): Promise<number[]> {
  const token = await demoToken(cp.base);
  const apps = ['e2e-load-0', 'e2e-load-1'];
  for (const app of apps) {
    const r = await call(cp.base, '/v1/orgs/e2e/apps', { token, json: { name: app } });
    if (r.status !== 201) throw new Error(`create ${app}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  }
  const statuses: number[] = [];
  let stop = false;
  // One loop per app, so the two never race on one stream (a legitimate 409).
  const load = async (app: string) => {
    for (let i = 0; i < MAX_LOAD_REQUESTS && !stop; i++) {
      const r = await call(cp.base, `/v1/orgs/e2e/apps/${app}/deploys`, { token, json: { image: `registry.example/e2e/${app}:${i}` } }).catch(() => ({ status: -1 }));
      statuses.push(r.status);
      if (r.status !== 201) await delay(PAUSE_AFTER_FAILURE_MS);
    }
  };
  const loops = apps.map(load);
  try {
    await pollUntil('load under way', async () => statuses.length, (n) => n >= 20, { timeoutMs: 20_000, intervalMs: 50 });
    await db.restart();
    const mark = statuses.length;
    await pollUntil('five commands succeeding after the restart', async () => statuses.slice(mark).filter((s) => s === 201).length, (n) => n >= 5, { timeoutMs: 30_000, intervalMs: 100 });
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  return statuses;
}
