/**
 * The scaled topology end to end, on real processes: HAProxy (TCP, round-robin, health-checked) in front of
 * two gateway collectors (loadbalancing exporter, routing by resource) → two backend collectors
 * (prometheusremotewrite, names verbatim, no target_info) → vmagent (-remoteWrite.shardByURL on job,instance)
 * → two VictoriaMetrics single-node shards. Started by the `stack` API with every port moved by 10000, beside
 * the suite's single-node stack.
 *
 * A thousand simulated egress sidecars (one process, each a distinct resource, the OTel protobuf encoding)
 * push their series three times, the last being the final push. The shards must then hold every documented
 * egress family by its exact name and nothing else (no target_info, no added suffix), every sidecar's final
 * values exactly, every answered push stored once, and each sidecar's series on exactly one shard.
 * `stack status` reports one line per process and `stack down` stops all of them.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardPath, REPO_ROOT } from '../otel-config/generate/outputs.ts';
import { expandGrafanaMacros } from '../otel-config/generate/promql.ts';
import { runStackCommand, scaledPorts, scaledLayout } from '../otel-config/stack.ts';
import { isAlive } from '../otel-config/stack/pid-files.ts';
import { pollUntil } from '../test/poll.ts';
import { auditFleet, describeAudit } from './support/fleet-audit.ts';
import { runFleet } from './support/fleet-push.ts';
import { documentedNames, seriesTemplates } from './support/fleet-series.ts';
import { counterValue, scrapeCollector } from './support/collector-telemetry.ts';
import { E2E_PORT_OFFSET, startScaledStack, type ScaledStack } from './support/scaled-stack.ts';
import { vmInstantQuery } from './support/victoria-metrics.ts';

// OTEL_CONTRACTS_E2E_PUSHERS runs fewer when measuring locally; never more than 1000.
const SIDECARS = Math.min(1000, Number(process.env.OTEL_CONTRACTS_E2E_PUSHERS) || 1000);
const PUSHES = 3;
const ROLES = ['shard-1', 'shard-2', 'vmagent', 'backend-1', 'backend-2', 'gateway-1', 'gateway-2', 'haproxy'] as const;
const PORTS = scaledPorts(scaledLayout({ portOffset: E2E_PORT_OFFSET }));

let stack: ScaledStack | undefined;
const need = (): ScaledStack => {
  if (!stack) throw new Error('the scaled stack did not start (see beforeAll)');
  return stack;
};

beforeAll(async () => {
  stack = await startScaledStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** The egress dashboard's panel queries, Grafana's macros expanded (variables: their "All" value). */
function egressDashboardQueries(): { panel: string; expr: string }[] {
  const d = JSON.parse(readFileSync(join(REPO_ROOT, dashboardPath('egress')), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: expandGrafanaMacros(t.expr) })));
}

/** `runStackCommand` on this stack, with its lines captured. */
async function stackCommand(action: 'status' | 'down'): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runStackCommand(action, { ...need().options, out: (l) => lines.push(l) });
  return { code, lines };
}

describe('the scaled topology', () => {
  it('stack status: one line per process with its role, its address and its health', async () => {
    const { code, lines } = await stackCommand('status');
    expect(code, lines.join('\n')).toBe(0);
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual([...ROLES]);
    for (const l of lines) expect(l).toMatch(/\s healthy\b.*\(pid \d+\)$/);
    expect(lines.at(-1)).toMatch(new RegExp(`^haproxy +127\\.0\\.0\\.1:${PORTS.otlpGrpc}, 127\\.0\\.0\\.1:${PORTS.otlpHttp} +healthy, 2/2 gateways up \\(pid \\d+\\)$`));
    expect(lines[0]).toMatch(new RegExp(`^shard-1 +http://127\\.0\\.0\\.1:${PORTS.shard(1)} +healthy`));
  });

  it('a malformed OTLP payload is refused by the gateway behind HAProxy and nothing reaches storage', async () => {
    const res = await fetch(`${need().otlpHttpEndpoint}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]),
    });
    await res.arrayBuffer();
    expect(res.status).toBe(400);
  });

  it(`${SIDECARS} sidecars, ${PUSHES} pushes each: every documented egress family in the shards, exact names, exact totals, each sidecar on exactly one shard`, async () => {
    const s = need();
    const job = `fleet-${randomUUID().slice(0, 8)}`;
    const fleet = await runFleet({ job, sidecars: SIDECARS, pushes: PUSHES, endpoint: s.otlpHttpEndpoint, concurrency: 32 });
    expect(fleet.failed, 'pushes given up after the retries').toBe(0);
    expect(fleet.outcomes.flat().reduce((n, o) => n + o.rejectedPoints, 0), 'data points rejected (partial success)').toBe(0);

    // Cheap first: every sidecar's final push (its uptime gauge at 10 · PUSHES) queryable on some shard.
    const finals = async () => {
      let n = 0;
      for (const url of s.shardUrls) n += (await vmInstantQuery(url, `count(last_over_time(opensandbox_egress_uptime_seconds{job=${JSON.stringify(job)}}[10m]) == ${10 * PUSHES})`))[0]?.value ?? 0;
      return n;
    };
    await pollUntil(`every sidecar's final push queryable (${SIDECARS})`, finals, (n) => n === SIDECARS, { timeoutMs: 90_000, intervalMs: 500 });
    const audit = await pollUntil('the shards to hold every sample of every answered push', () => auditFleet(fleet, s.shardUrls), (a) => a.missingSeries.length === 0 && a.finalMismatches.length === 0 && a.pointsStored >= a.pointsSent, {
      timeoutMs: 30_000,
      intervalMs: 1000,
      describe: describeAudit,
    });
    const why = describeAudit(audit);

    expect(audit.namesOutside, `names outside the contract (target_info, a suffix): ${why}`).toEqual([]);
    expect(Object.keys(audit.familyTotals).sort(), 'every documented family, by its exact name').toEqual([...documentedNames()].sort());
    for (const [name, t] of Object.entries(audit.familyTotals)) expect(t.stored, `total of ${name}`).toBe(t.sent);
    expect(audit.seriesExpected).toBe(SIDECARS * seriesTemplates().reduce((n, t) => n + (t.family.type === 'histogram' ? (t.family.buckets?.length ?? 0) + 3 : 1), 0));
    expect(audit.seriesFound, why).toBe(audit.seriesExpected);
    expect(audit.pointsStored, why).toBe(audit.pointsSent);
    expect(audit.duplicatePoints, why).toBe(0);
    expect(audit.unansweredPoints, why).toBe(0);
    expect(audit.instanceMismatches, why).toBe(0);
    expect(audit.seriesOnSeveralShards, why).toBe(0);
    expect(audit.instancesOnSeveralShards, why).toBe(0);
    expect(audit.perShard.reduce((n, sh) => n + sh.sidecars, 0), why).toBe(SIDECARS);
    for (const sh of audit.perShard) expect(sh.sidecars, `every shard holds some sidecars: ${why}`).toBeGreaterThan(0);

    // Both gateways took pushes (HAProxy round-robin) and both backends got sidecars (routing by resource).
    for (const role of ['gateway-1', 'gateway-2', 'backend-1', 'backend-2'] as const) {
      const n = Number(role.slice(-1));
      const port = role.startsWith('gateway') ? PORTS.gateway(n).telemetry : PORTS.backend(n).telemetry;
      const accepted = counterValue(await scrapeCollector(port), 'otelcol_receiver_accepted_metric_points');
      expect(accepted, `${role} accepted data points\n${s.logTail(role)}`).toBeGreaterThan(0);
    }
    // The generated dashboard works against any single shard (a Grafana datasource per shard): every panel
    // query answers, with the data of the sidecars that shard holds.
    const queries = egressDashboardQueries();
    expect(queries.length).toBeGreaterThan(10);
    for (const url of s.shardUrls) {
      for (const q of queries) expect((await vmInstantQuery(url, q.expr)).length, `panel "${q.panel}" on ${url}: ${q.expr}`).toBeGreaterThan(0);
    }
    console.log(`scaled topology: ${SIDECARS} sidecars × ${PUSHES} pushes in ${(fleet.wallMs / 1000).toFixed(1)} s (generator CPU ${fleet.cpuSeconds.toFixed(1)} s); ${audit.pointsStored} points stored; per shard ${JSON.stringify(audit.perShard.map((p) => p.sidecars))} sidecars`);
  });

  it('stack down stops every process of the topology and forgets it', async () => {
    const s = need();
    const pids = ROLES.map((r) => s.pid(r));
    const { code, lines } = await stackCommand('down');
    expect(code).toBe(0);
    expect(lines).toEqual(['stack down: stopped haproxy, gateway-1, gateway-2, backend-1, backend-2, vmagent, shard-1, shard-2']);
    for (const [n, pid] of pids.entries()) expect(isAlive(pid), `${ROLES[n]} (pid ${pid}) still runs`).toBe(false);
    expect(existsSync(join(s.stateDir, 'topology.json'))).toBe(false);
  });
});
