/**
 * The trc dashboard and alert rules on the live native stack fed by the real trc sources, not by
 * `sample`: the edge (`otel-contracts trc-edge`) under real TLS traffic, the agent (`otel-contracts
 * trc-agent`) on real directories, and the reference control plane under the preload (with its
 * PostgreSQL and HTTP collectors) on a throwaway PostgreSQL, driven by examples/control-plane/traffic.ts.
 *
 * Which panels and rules can answer is derived, not listed: a family counts when `recordedBy()` (the
 * table behind "Recorded by" in docs/contracts/trc.md, `components/sample` never a source) names a
 * folder this test runs (support/trc-sources.ts, RUN_SOURCES), the WireGuard overlay families aside
 * (they need a wg interface); a panel or rule counts when every family it reads does. Each of those
 * queries (panels with Grafana's macros expanded, alerts without their threshold, as dashboards.test.ts
 * runs them) must return data within the deadline; the counts out of the totals are in the last test's
 * name and on the console.
 *
 * Before the sources start, every trc_ series is deleted from Prometheus (the stack's admin API), so
 * that what an earlier file's `sample --contract all` left cannot answer, and none may remain.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningControlPlane } from '../examples/control-plane/testing/harness.ts';
import { closedByEdge, openTlsLines, tlsLine, tlsRefused, type TlsLines } from '../components/trc-edge/testing/clients.ts';
import { pollUntil } from '../test/poll.ts';
import { assertPortFree } from '../test/ports.ts';
import { startPostgres, type TestPostgres } from '../test/postgres.ts';
import { runNode, stopAllProcesses } from '../test/processes.ts';
import { instantQuery, scalarQuery } from './support/prometheus.ts';
import { useStack } from './support/stack.ts';
import {
  deleteSeries,
  NODE_ID,
  restartDatabaseUnderLoad,
  RUN_SOURCES,
  startAgentSources,
  startControlPlaneSource,
  startEdgeSources,
  trcQueries,
  trcScope,
  type AgentSources,
  type EdgeSources,
  type TrcQuery,
} from './support/trc-sources.ts';

/** How long the in-scope queries may take to all return data once the sources ran: scrapes every 2 s, rates need two samples. */
const DATA_DEADLINE_MS = 60_000;
/** How long a count driven by the test may take to show on Prometheus (a few scrapes). */
const SCRAPED_MS = 20_000;

const QUERIES = trcQueries();
const SCOPE = trcScope();
const answerable = (q: TrcQuery) => q.families.length > 0 && q.families.every((f) => SCOPE.fed.has(f));

/** Panel titles (or alert names) of `kind`, and those whose every query the sources can answer. */
function owners(kind: TrcQuery['kind']): { all: string[]; live: string[] } {
  const all = [...new Set(QUERIES.filter((q) => q.kind === kind).map((q) => q.owner))];
  return { all, live: all.filter((o) => QUERIES.filter((q) => q.kind === kind && q.owner === o).every(answerable)) };
}
const PANELS = owners('panel');
const RULES = owners('rule');
const LIVE = QUERIES.filter((q) => (q.kind === 'panel' ? PANELS : RULES).live.includes(q.owner));
const COUNTS = `${PANELS.live.length} of ${PANELS.all.length} trc dashboard panels and ${RULES.live.length} of ${RULES.all.length} trc alert rules`;

const EDGE = `job="trc-edge", node_id="${NODE_ID}"`;
const AGENT = `job="trc-agent", node_id="${NODE_ID}"`;

let db: TestPostgres | undefined;
let cp: RunningControlPlane;
let edge: EdgeSources | undefined;
let agent: AgentSources | undefined;
/** A TLS connection through the edge kept open to the end (trc_edge_concurrent_connections 1). */
let held: TlsLines | undefined;

useStack();
afterAll(async () => {
  held?.close();
  await stopAllProcesses();
  await edge?.close();
  agent?.remove();
  await db?.stop();
  // Leave no trc_ series behind for a later file (dashboards.test.ts proves `sample` alone answers every query).
  await deleteSeries('{__name__=~"trc_.+"}').catch(() => undefined);
});

/** Polls `expected` (name -> [PromQL giving one series or none, value wanted]) on Prometheus until each has its expected value; returns the last values. */
async function untilScraped(what: string, expected: Readonly<Record<string, readonly [string, number]>>): Promise<Record<string, number | undefined>> {
  const read = async () => Object.fromEntries(await Promise.all(Object.entries(expected).map(async ([k, [expr]]) => [k, await scalarQuery(expr)] as const)));
  const ok = (v: Record<string, number | undefined>) => Object.entries(expected).every(([k, [, want]]) => v[k] === want);
  return pollUntil(what, read, ok, { timeoutMs: SCRAPED_MS, intervalMs: 1000 }).catch(async () => read());
}

describe('the trc dashboard and alert rules on the native stack, fed by the real trc sources (no sample)', () => {
  beforeAll(async () => {
    await assertPortFree(9464, 'the control plane\'s /metrics (the preload\'s default), scraped by Prometheus as job "sample"');
    await assertPortFree(18100, 'the trc edge\'s /metrics, scraped as job "trc-edge"');
    await assertPortFree(18097, 'the trc agent\'s /metrics, scraped as job "trc-agent"');
    await deleteSeries('{__name__=~"trc_.+"}');
    // Any sample of the last 10 minutes, stale-marked ones included (what a rate window could still read).
    const left = await instantQuery('count by (job) (count_over_time({__name__=~"trc_.+"}[10m]))');
    if (left.length > 0) throw new Error(`trc_ samples are still on the stack after their deletion (something else feeds them?): ${JSON.stringify(left)}`);
    db = await startPostgres();
    cp = await startControlPlaneSource(db.url);
    edge = await startEdgeSources();
    agent = await startAgentSources();
  }, 120_000);

  it('the scope comes from recordedBy(): every trc family is fed by a source this test runs, or excluded with its reason', () => {
    // A family recorded only by a folder this test does not start is a new source: run it here.
    expect([...SCOPE.otherSources]).toEqual([]);
    const out = [...SCOPE.excluded].map(([f, why]) => `  - ${f}: ${why}`);
    const panelsOut = PANELS.all.filter((p) => !PANELS.live.includes(p));
    const rulesOut = RULES.all.filter((r) => !RULES.live.includes(r));
    console.log(
      [
        `trc-sources: ${COUNTS} can be answered by the real sources run here (${Object.values(RUN_SOURCES).join('; ')}).`,
        `${SCOPE.fed.size} of ${SCOPE.fed.size + SCOPE.excluded.size} trc families fed; excluded families:`,
        ...out,
        `panels left out (${panelsOut.length}): ${panelsOut.join(', ')}`,
        `rules left out (${rulesOut.length}): ${rulesOut.join(', ')}`,
      ].join('\n'),
    );
    expect(PANELS.live.length).toBeGreaterThan(0);
    expect(RULES.live.length).toBeGreaterThan(0);
  });

  it('the edge routes real TLS connections by SNI (directly and through PROXY v2 to HAProxy); unknown, missing and refused names and a non-TLS client fail; a rejected routes file is counted', async () => {
    if (!edge) throw new Error('the edge did not start');
    const { tlsPort, ca } = edge;
    for (let i = 0; i < 3; i++) expect(await tlsLine(tlsPort, 'app.test', ca)).toBe('alpha sni=app.test proxy=- got=hello');
    // HAProxy (accept-proxy) read the edge's PROXY v2 header and passes the addresses on as a PROXY v1 line.
    expect(await tlsLine(tlsPort, 'pp.test', ca)).toMatch(new RegExp(`^gamma sni=pp\\.test proxy=PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 \\d+ ${tlsPort} got=hello$`));
    held = await openTlsLines(tlsPort, 'app.test', ca);
    expect(await held.ask('still here')).toBe('alpha sni=app.test proxy=- got=still here');
    await tlsRefused(tlsPort, 'unknown.test'); // no route for the name
    await tlsRefused(tlsPort); // no SNI at all
    await tlsRefused(tlsPort, 'refused.test'); // its backend refuses the connect
    await closedByEdge(tlsPort, Buffer.from('GET / HTTP/1.1\r\nHost: app.test\r\n\r\n')); // not TLS
    // A routes file the edge rejects (the old routes stay), then the good one again.
    edge.routes.replace('routes: [\n');
    await edge.process.waitForLine(/routes file rejected: the previous routes stay/, { stream: 'stderr' });
    edge.routes.replace(edge.doc);
    await edge.process.waitForLine(/routes applied \(file changed\)/, { stream: 'stderr' });

    const expected = {
      'connections piped': [`sum(trc_edge_connections_total{${EDGE}, result="success"})`, 5],
      'connections failed': [`sum(trc_edge_connections_total{${EDGE}, result="failure"})`, 4],
      'sniffs ok': [`sum(trc_edge_sni_sniffs_total{${EDGE}, result="ok"})`, 7],
      'sniffs no_sni': [`sum(trc_edge_sni_sniffs_total{${EDGE}, result="no_sni"})`, 1],
      'sniffs not_tls': [`sum(trc_edge_sni_sniffs_total{${EDGE}, result="not_tls"})`, 1],
      'sniff observations': [`sum(trc_edge_sni_sniff_seconds_count{${EDGE}})`, 9],
      'upstream refused': [`sum(trc_edge_upstream_connect_failures_total{${EDGE}, reason="refused"})`, 1],
      'PROXY v2 injected': [`sum(trc_edge_proxy_v2_injections_total{${EDGE}, result="success"})`, 1],
      'config applied': [`sum(trc_edge_config_apply_total{${EDGE}, result="success"})`, 2],
      'config rejected': [`sum(trc_edge_config_apply_total{${EDGE}, result="error"})`, 1],
      'open connections': [`sum(trc_edge_concurrent_connections{${EDGE}})`, 1],
      'routes loaded': [`sum(trc_edge_routes_loaded{${EDGE}})`, 3],
      'PROXY v2 routes': [`sum(trc_edge_proxy_v2_enabled_routes{${EDGE}})`, 1],
    } as const;
    const got = await untilScraped('the edge counts on Prometheus', expected);
    expect(got, edge.process.describe()).toEqual(Object.fromEntries(Object.entries(expected).map(([k, [, v]]) => [k, v])));
  });

  it('the agent reports its mounts, volume pool and caches, and counts a file removed from its oci cache between walks as one eviction', async () => {
    if (!agent) throw new Error('the agent did not start');
    rmSync(join(agent.oci, 'layer-2'));
    const expected = {
      'oci evictions': [`sum(trc_agent_cache_evictions_total{${AGENT}, kind="oci"})`, 1],
      'rootdisks evictions': [`sum(trc_agent_cache_evictions_total{${AGENT}, kind="rootdisks"})`, 0],
      'cache kinds': [`count(trc_agent_cache_bytes{${AGENT}} > 0)`, 3],
      mounts: [`count(trc_agent_disk_free_bytes{${AGENT}} > 0)`, agent.mounts.length],
      'volume pool': [`count(trc_agent_volume_pool_free_bytes{${AGENT}}) + count(trc_agent_volume_pool_used_bytes{${AGENT}})`, 2],
      'pressure kinds': [`count(trc_agent_disk_pressure{${AGENT}})`, 3],
    } as const;
    const got = await untilScraped('the agent figures on Prometheus', expected);
    expect(got, agent.process.describe()).toEqual(Object.fromEntries(Object.entries(expected).map(([k, [, v]]) => [k, v])));
  });

  it('the control plane serves traffic.ts on every endpoint, and answers 503 while its database restarts', async () => {
    if (!db) throw new Error('the database did not start');
    const run = await runNode('traffic', ['examples/control-plane/traffic.ts', '--api', cp.base, '--rounds', '2', '--database-url', db.url], {}, 60_000);
    expect(run.code, run.describe).toBe(0);
    const summary = JSON.parse(run.stdout) as { rounds: number; unexpected: string[] };
    expect(summary).toMatchObject({ rounds: 2, unexpected: [] });
    // The 5xx the server-error alert divides by: commands answered while the database is down.
    const statuses = await restartDatabaseUnderLoad(cp, db);
    expect(statuses).toContain(503);
    expect(cp.app.exitInfo(), cp.app.describe()).toBeNull();
  });

  it(`${COUNTS} return data from the real sources`, async () => {
    let empty: readonly TrcQuery[] = LIVE;
    const askEmpty = async () => {
      const results = await Promise.all(empty.map(async (q) => ({ q, n: (await instantQuery(q.expr)).length })));
      empty = results.filter((r) => r.n === 0).map((r) => r.q);
      return empty;
    };
    await pollUntil('every answerable panel query and alert expression to return data', askEmpty, (e) => e.length === 0, { timeoutMs: DATA_DEADLINE_MS, intervalMs: 2_000 }).catch(() => undefined);
    // Which fed family has no series at all (a source that does not feed what it records), for the message.
    const unfed = (await Promise.all([...SCOPE.fed].map(async (f) => ((await instantQuery(`count({__name__=~"${f}(_bucket|_count|_sum)?"})`)).length === 0 ? f : undefined)))).filter(Boolean);
    const jobs = (await instantQuery('count by (job) ({__name__=~"trc_.+"})')).map((s) => s.metric.job);
    // Out of scope but answered all the same: a family nothing records, exported by a source with a series at 0.
    const others = QUERIES.filter((q) => !LIVE.includes(q));
    const jobsOf = async (q: TrcQuery) => (await instantQuery(`count by (job) ({__name__=~"(${q.families.join('|')})(_bucket|_count|_sum)?"})`)).map((s) => s.metric.job).join(', ');
    const answeredAnyway = (await Promise.all(others.map(async (q) => ((await instantQuery(q.expr)).length > 0 ? `${q.origin} (job ${await jobsOf(q)})` : undefined)))).filter(Boolean);
    console.log(
      `trc-sources: ${COUNTS}: ${LIVE.length - empty.length} of ${LIVE.length} of their queries returned data; trc series by job: ${jobs.join(', ')}; ` +
        `out of scope yet answered (a series exported at 0, nothing records it): ${answeredAnyway.join('; ') || 'none'}`,
    );
    expect(
      empty.map((q) => `${q.origin}: ${q.expr}`),
      `queries that returned no data within ${DATA_DEADLINE_MS / 1000} s; fed families without any series: ${unfed.join(', ') || 'none'}\n${[edge?.process, agent?.process, cp.app].map((p) => p?.describe()).join('\n')}`,
    ).toEqual([]);
    expect(unfed).toEqual([]);
    // Only the sources started here feed the stack (the control plane is job "sample": the preload's default port).
    expect(jobs.sort()).toEqual(['sample', 'trc-agent', 'trc-edge']);
  });
});
