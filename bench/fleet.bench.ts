/**
 * `npm run bench:fleet -- --sidecars N` (not a test; N may repeat or be a list, default 1000, 5000 and 10000):
 * a fleet of short-lived egress sidecars through the scaled topology, and beside it through the single-node
 * stack, so that the cost of the extra tiers is visible.
 *
 * The fleet is one process (e2e/support/fleet-push.ts): N sidecars, each a distinct resource
 * (`service.instance.id`, `instance_id`) with the egress contract's 29 Prometheus series, pushing
 * FLEET_BENCH_PUSHES times over OTLP/HTTP in the OTel protobuf encoding (the exporter's own serializer)
 * with known increments, the last push being the final push on exit; starts spread over
 * FLEET_BENCH_SPREAD_MS, pushes FLEET_BENCH_INTERVAL_MS apart, FLEET_BENCH_CONCURRENCY requests in flight.
 *
 * Runs per N, each on a fresh stack (scaled: every port + 15000, in a private state directory):
 *   scaled          the scaled topology (2 gateways, 2 backends, 2 shards), no fault;
 *   backend-outage  the same with backend-1 stopped for FLEET_BENCH_OUTAGE_MS (30 s) from 2 s in;
 *   shard-outage    the same with shard-2 stopped for 30 s from 2 s in;
 *   gateway-kill    the same with gateway-1 SIGKILLed 8 s in (restarted 30 s later): the pushes in flight
 *                   on its connections are retried through HAProxy on gateway-2; what it had acknowledged
 *                   but not yet forwarded (batch and sending queue, in memory) is lost, and counted;
 *   single          the single-node stack (collector + Prometheus on their usual ports; the run waits up to
 *                   10 min for them to be free, e.g. for an e2e run to end, and is skipped if they stay taken).
 * A run that fails is reported and left out; the others' figures are still written.
 *
 * Reported per N (printed, and bench/results/fleet.json + fleet.svg by `reportBenchmark`; every run's full
 * figures in bench/results/fleet-runs.json): points sent and stored (must be equal), series on more than
 * one shard (0), final values that differ from what was sent (0), names outside the contract (0), the
 * spread over backends and shards, push-to-queryable latency p50/p99 (the first poll, every 500 ms, that
 * shows a sidecar's final push, minus when that push was answered), how long after a fault everything was
 * queryable again, and CPU seconds and peak memory (VmHWM) of each tier per 1000 sidecars, with the
 * generator's own CPU (including its polling) beside them.
 *
 * `--from-runs` re-renders fleet.json and fleet.svg from fleet-runs.json without measuring.
 *
 * Env: FLEET_BENCH_PUSHES (4), FLEET_BENCH_SPREAD_MS (15000), FLEET_BENCH_INTERVAL_MS (5000),
 * FLEET_BENCH_OUTAGE_MS (30000), FLEET_BENCH_CONCURRENCY (64), FLEET_BENCH_RUNS (all five, comma-separated).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { delay, pollUntil } from '../test/poll.ts';
import { counterValue, scrapeCollector } from '../e2e/support/collector-telemetry.ts';
import { auditFleet, auditTotals, describeAudit, type FleetAudit, type TotalsAudit } from '../e2e/support/fleet-audit.ts';
import { runFleet, type FleetReport } from '../e2e/support/fleet-push.ts';
import { finalLatencies, quantile, unseen, watchFinals } from '../e2e/support/fleet-visibility.ts';
import { PROMETHEUS_URL } from '../e2e/support/prometheus.ts';
import { cpuSeconds, peakRssBytes } from '../e2e/support/process-usage.ts';
import { startScaledStack, type ScaledStack } from '../e2e/support/scaled-stack.ts';
import { startE2eStack, stopE2eStack } from '../e2e/support/stack.ts';
import { STACK_PORTS, scaledPorts, scaledLayout, tryListen, type RoleName } from '../otel-config/stack.ts';
import { RESULTS_DIR, reportBenchmark } from './support/results.ts';
import { runBench } from './support/run-bench.ts';
import type { Row } from './support/table.ts';

const PUSHES = Number(process.env.FLEET_BENCH_PUSHES ?? 4);
const SPREAD_MS = Number(process.env.FLEET_BENCH_SPREAD_MS ?? 15_000);
const INTERVAL_MS = Number(process.env.FLEET_BENCH_INTERVAL_MS ?? 5_000);
const OUTAGE_MS = Number(process.env.FLEET_BENCH_OUTAGE_MS ?? 30_000);
const CONCURRENCY = Number(process.env.FLEET_BENCH_CONCURRENCY ?? 64);
const PORT_OFFSET = 15_000;
const KINDS = ['scaled', 'backend-outage', 'shard-outage', 'gateway-kill', 'single'] as const;
type RunKind = (typeof KINDS)[number];
const RUNS: RunKind[] = (process.env.FLEET_BENCH_RUNS?.split(',') as RunKind[] | undefined) ?? [...KINDS];
const FAULT_AT_MS: Record<string, number> = { 'backend-outage': 2_000, 'shard-outage': 2_000, 'gateway-kill': 8_000 };
const FAULT_PART: Record<string, RoleName> = { 'backend-outage': 'backend-1', 'shard-outage': 'shard-2', 'gateway-kill': 'gateway-1' };
/** The scaled topology's tiers, by role prefix; the single-node stack's processes. */
const SCALED_TIERS = { haproxy: /^haproxy$/, gateways: /^gateway-/, backends: /^backend-/, vmagent: /^vmagent$/, shards: /^shard-/ } as const;
const SCALED_ROLES: RoleName[] = ['haproxy', 'gateway-1', 'gateway-2', 'backend-1', 'backend-2', 'vmagent', 'shard-1', 'shard-2'];

/** One run's figures. */
interface RunResult {
  readonly kind: RunKind;
  readonly sidecars: number;
  readonly fleet: { readonly failed: number; readonly retried: number; readonly wallSeconds: number; readonly generatorCpuSeconds: number };
  readonly audit?: Omit<FleetAudit, 'missingSeries' | 'finalMismatches'> & { readonly missingSeries: number; readonly finalMismatches: number };
  readonly totals?: TotalsAudit;
  readonly latency: { readonly p50: number; readonly p99: number; readonly seen: number };
  /** Seconds from the part being back (or the last push answered, if later) until every final push was queryable. */
  readonly recoverySeconds?: number;
  readonly cpuPer1000: Readonly<Record<string, number>>;
  readonly peakMiB: Readonly<Record<string, number>>;
  /** Shares (%): of the data points each gateway and backend accepted (a restarted part's count starts again), of the sidecars on each shard. */
  readonly spread?: { readonly gateways: readonly number[]; readonly backends: readonly number[]; readonly shards: readonly number[] };
}

/** CPU seconds and peak RSS of each role since a start, summed over every process the role had (a restarted part has two). */
interface Usage {
  /** Reads `role`'s process now (before it is stopped or killed) and banks what it used. */
  bank(role: string): void;
  /** Everything used since the start, by role (the current processes read now). */
  total(): { cpu: Map<string, number>; peak: Map<string, number> };
}

function trackUsage(pid: (role: string) => number, roles: readonly string[]): Usage {
  const cpu0 = new Map(roles.map((r) => [r, cpuSeconds(pid(r))]));
  const cpu = new Map<string, number>();
  const peak = new Map<string, number>();
  const bank = (role: string) => {
    const p = pid(role);
    cpu.set(role, (cpu.get(role) ?? 0) + cpuSeconds(p) - (cpu0.get(role) ?? 0));
    peak.set(role, Math.max(peak.get(role) ?? 0, peakRssBytes(p)));
    cpu0.set(role, 0);
  };
  return {
    bank,
    total() {
      for (const r of roles) bank(r);
      return { cpu, peak };
    },
  };
}

function byTier(values: Map<string, number>, tiers: Readonly<Record<string, RegExp>>, scale: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [tier, re] of Object.entries(tiers)) {
    out[tier] = [...values].filter(([role]) => re.test(role)).reduce((n, [, v]) => n + v, 0) * scale;
  }
  out.total = Object.values(out).reduce((a, b) => a + b, 0);
  return out;
}

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

/** Stops or kills the run's part at its time, brings it back after the outage; resolves to when it is back. */
async function injectFault(stack: ScaledStack, kind: RunKind, usage: Usage, t0: number): Promise<number | undefined> {
  const part = FAULT_PART[kind];
  if (!part) return undefined;
  await delay(Math.max(0, t0 + FAULT_AT_MS[kind]! - performance.now()));
  usage.bank(part);
  if (kind === 'gateway-kill') process.kill(stack.pid(part), 'SIGKILL');
  else await stack.stopPart(part);
  console.log(`  ${kind}: ${part} ${kind === 'gateway-kill' ? 'killed' : 'stopped'} at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await delay(OUTAGE_MS);
  await stack.startPart(part);
  console.log(`  ${kind}: ${part} back at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return performance.now();
}

function fleetSummary(f: FleetReport): RunResult['fleet'] {
  return { failed: f.failed, retried: f.retried, wallSeconds: round(f.wallMs / 1000, 1), generatorCpuSeconds: round(f.cpuSeconds, 1) };
}

/**
 * Waits until every final push is queryable (at most 5 min; a store that cannot keep up is reported, not
 * waited for), then gives the latencies of those seen and when the last was seen.
 */
async function awaitFinals(watch: ReturnType<typeof watchFinals>, fleet: FleetReport, sidecars: number): Promise<{ latency: RunResult['latency']; lastSeen: number }> {
  try {
    await pollUntil('every final push queryable', async () => watch.visibleAt.size, (n) => n === sidecars, {
      timeoutMs: 300_000,
      intervalMs: 250,
      describe: (n) => `${n}/${sidecars}; not yet: ${unseen(fleet.job, sidecars, watch.visibleAt).join(', ')}`,
    });
  } catch (e) {
    console.log(`  NOT COMPLETE: ${(e as Error).message}`);
  } finally {
    watch.stop();
  }
  const lat = finalLatencies(fleet, watch.visibleAt);
  const latest = [...watch.visibleAt.values()].reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
  const lastSeen = Number.isFinite(latest) ? latest : Number.NaN;
  return { latency: { p50: round(quantile(lat, 0.5)), p99: round(quantile(lat, 0.99)), seen: lat.length }, lastSeen };
}

/** One run through the scaled topology, with or without a fault. */
async function scaledRun(kind: RunKind, sidecars: number): Promise<RunResult> {
  const stack = await startScaledStack({ portOffset: PORT_OFFSET });
  try {
    const usage = trackUsage((r) => stack.pid(r as RoleName), SCALED_ROLES);
    const job = `fleet-${kind}-${sidecars}-${Date.now()}`;
    const watch = watchFinals(stack.shardUrls, job, sidecars, PUSHES);
    const t0 = performance.now();
    const fault = injectFault(stack, kind, usage, t0);
    const fleet = await runFleet({ job, sidecars, pushes: PUSHES, endpoint: stack.otlpHttpEndpoint, concurrency: CONCURRENCY, spreadMs: SPREAD_MS, intervalMs: INTERVAL_MS });
    const backAt = await fault;
    const { latency, lastSeen } = await awaitFinals(watch, fleet, sidecars);
    const lastAnswered = fleet.outcomes.flat().reduce((a, o) => Math.max(a, o.answeredAt), 0);
    const { cpu, peak } = usage.total();
    const ports = scaledPorts(scaledLayout({ portOffset: PORT_OFFSET }));
    const accepted = async (port: (n: number) => number) => Promise.all([1, 2].map(async (n) => counterValue(await scrapeCollector(port(n)), 'otelcol_receiver_accepted_metric_points')));
    const byGateway = await accepted((n) => ports.gateway(n).telemetry);
    const byBackend = await accepted((n) => ports.backend(n).telemetry);
    const audit = await pollUntil('the shards to hold every answered push', () => auditFleet(fleet, stack.shardUrls), (a) => a.missingSeries.length === 0 && a.finalMismatches.length === 0 && a.pointsStored >= a.pointsSent, {
      timeoutMs: 30_000,
      intervalMs: 2_000,
      describe: describeAudit,
    }).catch(() => auditFleet(fleet, stack.shardUrls));
    console.log(`  ${kind} N=${sidecars}: ${describeAudit(audit)}`);
    const totalSidecars = audit.perShard.reduce((n, s) => n + s.sidecars, 0) || 1;
    const share = (xs: number[]) => xs.map((x) => round((100 * x) / (xs.reduce((a, b) => a + b, 0) || 1), 1));
    return {
      kind,
      sidecars,
      fleet: fleetSummary(fleet),
      audit: { ...audit, missingSeries: audit.missingSeries.length, finalMismatches: audit.finalMismatches.length },
      latency,
      ...(kind === 'scaled' ? {} : { recoverySeconds: round(Math.max(0, lastSeen - Math.max(backAt ?? 0, lastAnswered)) / 1000, 1) }),
      cpuPer1000: mapValues(byTier(cpu, SCALED_TIERS, 1000 / sidecars), 2),
      peakMiB: mapValues(byTier(peak, SCALED_TIERS, 1 / 2 ** 20), 0),
      spread: { gateways: share(byGateway), backends: share(byBackend), shards: audit.perShard.map((s) => round((100 * s.sidecars) / totalSidecars, 1)) },
    };
  } finally {
    await stack.stop();
  }
}

function mapValues(o: Record<string, number>, digits: number): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v, digits)]));
}

/** The same fleet through the single-node stack (collector, Prometheus scraping it every 2 s). */
async function singleRun(sidecars: number): Promise<RunResult> {
  const dir = await startE2eStack();
  try {
    const pid = (role: string) => (JSON.parse(readFileSync(join(dir, `${role}.json`), 'utf8')) as { pid: number }).pid;
    const usage = trackUsage(pid, ['collector', 'prometheus']);
    const job = `fleet-single-${sidecars}-${Date.now()}`;
    const watch = watchFinals([PROMETHEUS_URL], job, sidecars, PUSHES);
    const fleet = await runFleet({ job, sidecars, pushes: PUSHES, endpoint: 'http://127.0.0.1:4318', concurrency: CONCURRENCY, spreadMs: SPREAD_MS, intervalMs: INTERVAL_MS });
    const { latency } = await awaitFinals(watch, fleet, sidecars);
    const { cpu, peak } = usage.total();
    const totals = await auditTotals(fleet, PROMETHEUS_URL);
    console.log(`  single N=${sidecars}: totals differing ${JSON.stringify(totals.totalsDiffering)}, names outside ${JSON.stringify(totals.namesOutside)}`);
    const tiers = { collector: /^collector$/, prometheus: /^prometheus$/ };
    return {
      kind: 'single',
      sidecars,
      fleet: fleetSummary(fleet),
      totals,
      latency,
      cpuPer1000: mapValues(byTier(cpu, tiers, 1000 / sidecars), 2),
      peakMiB: mapValues(byTier(peak, tiers, 1 / 2 ** 20), 0),
    };
  } finally {
    await stopE2eStack(dir);
  }
}

/** The benchmark's rows for one N. */
function rowsOf(n: number, runs: ReadonlyMap<RunKind, RunResult>): Row[] {
  const label = (k: RunKind) => k.replace('-', ' ');
  const scaledKinds = (['scaled', 'backend-outage', 'shard-outage', 'gateway-kill'] as const).filter((k) => runs.has(k));
  const fig = (kinds: readonly RunKind[], f: (r: RunResult) => number | undefined) =>
    kinds.flatMap((k) => {
      const v = runs.get(k) && f(runs.get(k)!);
      return v === undefined || Number.isNaN(v) ? [] : [{ name: label(k), value: v }];
    });
  const judged = scaledKinds.filter((k) => k !== 'gateway-kill').map(label);
  const zero = { target: { value: 0 }, judged } as const;
  const s = runs.get('scaled');
  const single = runs.get('single');
  const rows: Row[] = [
    { case: `N=${n}: points lost (sent − stored)`, unit: 'points', figures: fig(scaledKinds, (r) => r.audit!.pointsSent - r.audit!.pointsStored), ...zero },
    { case: `N=${n}: series on more than one shard`, unit: 'series', figures: fig(scaledKinds, (r) => r.audit!.seriesOnSeveralShards), ...zero },
    { case: `N=${n}: final values differing from sent`, unit: 'series', figures: [...fig(scaledKinds, (r) => r.audit!.finalMismatches + r.audit!.missingSeries), ...fig(['single'], (r) => r.totals!.totalsDiffering.length)], ...zero },
    { case: `N=${n}: names outside the contract`, unit: 'names', figures: [...fig(scaledKinds, (r) => r.audit!.namesOutside.length), ...fig(['single'], (r) => r.totals!.namesOutside.length)], ...zero },
    { case: `N=${n}: final pushes queryable within 5 min`, unit: '%', higherIsBetter: true, figures: fig(['scaled', 'single'], (r) => round((100 * r.latency.seen) / n, 1)) },
    // Latencies only for runs where every final push was seen: a partial set would flatter the store that fell behind.
    { case: `N=${n}: push-to-queryable p50`, unit: 's', figures: fig(['scaled', 'single'], (r) => (r.latency.seen === n ? r.latency.p50 : undefined)) },
    { case: `N=${n}: push-to-queryable p99`, unit: 's', figures: fig(['scaled', 'single'], (r) => (r.latency.seen === n ? r.latency.p99 : undefined)) },
    { case: `N=${n}: all queryable again after the fault`, unit: 's', figures: fig(scaledKinds, (r) => r.recoverySeconds) },
  ];
  if (s?.audit) rows.push({ case: `N=${n}: points sent and stored (scaled)`, unit: 'points', figures: [{ name: 'sent', value: s.audit.pointsSent }, { name: 'stored', value: s.audit.pointsStored }] });
  if (s?.spread) {
    const named = (tier: string, xs: readonly number[]) => xs.map((v, i) => ({ name: `${tier}-${i + 1}`, value: v }));
    rows.push({ case: `N=${n}: spread (% of points; shards: of sidecars)`, unit: '%', figures: [...named('gateway', s.spread.gateways), ...named('backend', s.spread.backends), ...named('shard', s.spread.shards)] });
  }
  const tierFigures = (pick: (r: RunResult) => Readonly<Record<string, number>>) => [
    ...(s ? Object.entries(pick(s)).map(([tier, value]) => ({ name: tier === 'total' ? 'scaled total' : tier, value })) : []),
    ...(single ? Object.entries(pick(single)).map(([tier, value]) => ({ name: tier === 'total' ? 'single-node total' : `single ${tier}`, value })) : []),
  ];
  rows.push({ case: `N=${n}: CPU per 1000 sidecars`, unit: 'CPU s', figures: [...tierFigures((r) => r.cpuPer1000), ...(s ? [{ name: 'generator', value: round((s.fleet.generatorCpuSeconds * 1000) / n) }] : [])] });
  rows.push({ case: `N=${n}: peak memory`, unit: 'MiB', figures: tierFigures((r) => r.peakMiB) });
  return rows.filter((r) => r.figures.length > 0);
}

/** The command line: `--sidecars N` (repeatable, or a list), `--from-runs` (only re-render the last runs' table and chart). */
function commandLine(): { counts: number[]; fromRuns: boolean } {
  const { values } = parseArgs({ options: { sidecars: { type: 'string', multiple: true }, 'from-runs': { type: 'boolean' } }, allowPositionals: true });
  const counts = (values.sidecars ?? ['1000,5000,10000']).flatMap((v) => v.split(',')).map(Number);
  for (const n of counts) if (!Number.isInteger(n) || n < 1) throw new Error(`--sidecars ${n}: expected a positive whole number`);
  return { counts, fromRuns: Boolean(values['from-runs']) };
}

/** The table and chart of bench/results/fleet-runs.json as it stands (after a change to the rows, without measuring again). */
function reportFromRuns(): void {
  const { runs } = JSON.parse(readFileSync(new URL('fleet-runs.json', RESULTS_DIR), 'utf8')) as { runs: RunResult[] };
  const rows = [...new Set(runs.map((r) => r.sidecars))].flatMap((n) => rowsOf(n, new Map(runs.filter((r) => r.sidecars === n).map((r) => [r.kind, r]))));
  reportBenchmark('fleet', TITLE, 'per row', rows);
}

/**
 * The single-node stack has fixed ports (someone's e2e run may hold them): waits up to 10 min for them to be
 * free; false when they stay taken (the run is then skipped, and says so).
 */
async function singleNodePortsFree(): Promise<boolean> {
  const ports = Object.values(STACK_PORTS);
  const taken = async () => (await Promise.all(ports.map(async (p) => ((await tryListen(p)) === null ? [p] : [])))).flat();
  try {
    await pollUntil('the single-node stack\'s ports to be free', taken, (t) => t.length === 0, { timeoutMs: 600_000, intervalMs: 5_000 });
    return true;
  } catch (e) {
    console.log(`  single: skipped, ${(e as Error).message}`);
    return false;
  }
}

/** One run; a run that fails is reported and skipped, so that the others' figures are still written. */
async function oneRun(kind: RunKind, n: number): Promise<RunResult | undefined> {
  console.log(`fleet: ${kind}, ${n} sidecars × ${PUSHES} pushes`);
  try {
    if (kind === 'single' && !(await singleNodePortsFree())) return undefined;
    const r = kind === 'single' ? await singleRun(n) : await scaledRun(kind, n);
    console.log(`  ${JSON.stringify({ latency: r.latency, recoverySeconds: r.recoverySeconds, cpuPer1000: r.cpuPer1000, peakMiB: r.peakMiB, spread: r.spread, fleet: r.fleet })}`);
    return r;
  } catch (e) {
    console.log(`  ${kind} N=${n} FAILED: ${(e as Error).message}`);
    return undefined;
  }
}

const TITLE = 'Fleet of short-lived sidecars: scaled topology and single-node stack';

await runBench('fleet', async () => {
  const { counts, fromRuns } = commandLine();
  if (fromRuns) return reportFromRuns();
  const rows: Row[] = [];
  const all: RunResult[] = [];
  for (const n of counts) {
    const runs = new Map<RunKind, RunResult>();
    for (const kind of RUNS) {
      const r = await oneRun(kind, n);
      if (!r) continue;
      runs.set(kind, r);
      all.push(r);
      // After every run: an interrupted benchmark keeps what it measured.
      writeFileSync(new URL('fleet-runs.json', RESULTS_DIR), `${JSON.stringify({ date: new Date().toISOString(), pushes: PUSHES, spreadMs: SPREAD_MS, intervalMs: INTERVAL_MS, outageMs: OUTAGE_MS, concurrency: CONCURRENCY, runs: all }, null, 2)}\n`);
    }
    rows.push(...rowsOf(n, runs));
  }
  reportBenchmark('fleet', TITLE, 'per row', rows);
});
