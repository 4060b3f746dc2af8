/**
 * Every dashboard panel query and every alert expression returns data on the live stack, fed by
 * `sample --contract all` (scraped as job="sample"). Each is parsed with Prometheus' PromQL grammar
 * before it is sent. Panel queries run with Grafana's macros expanded (`$__rate_interval` -> 1m,
 * every variable -> `.*`, its "All" value).
 *
 * Alert expressions: the `for:` clause is not involved (the expression is evaluated, not the rule),
 * and the threshold comparison is removed (`Q > 0.05` -> `Q`, see thresholdFree in
 * otel-config/generate/promql.ts): most alerts fire only on bad conditions, so the full expression
 * is rightly empty on a healthy stack, while its query alone proves that the series it reads exist.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dashboardPath, REPO_ROOT, rulesPath } from '../otel-config/generate/outputs.ts';
import { expandGrafanaMacros, parsePromQL, thresholdFree } from '../otel-config/generate/promql.ts';
import { componentContracts } from '../semconv/index.ts';
import { pollUntil } from '../test/poll.ts';
import { assertPortFree } from '../test/ports.ts';
import { CLI, startNode, stopAllProcesses } from '../test/processes.ts';
import { instantQuery } from './support/prometheus.ts';
import { useStack } from './support/stack.ts';

/** A query to run, and where it comes from (for the failure message). */
interface LiveQuery {
  readonly origin: string;
  readonly expr: string;
}

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string; refId?: string }[];
}

function panelQueries(): LiveQuery[] {
  return Object.keys(componentContracts).flatMap((id) => {
    const d = JSON.parse(readFileSync(join(REPO_ROOT, dashboardPath(id)), 'utf8')) as { panels: Panel[] };
    return d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ origin: `dashboard ${id}, panel "${p.title}" ${t.refId ?? ''}`.trim(), expr: expandGrafanaMacros(t.expr) })));
  });
}

function alertQueries(): LiveQuery[] {
  return Object.keys(componentContracts).flatMap((id) => {
    const file = parse(readFileSync(join(REPO_ROOT, rulesPath(id)), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    return file.groups.flatMap((g) => g.rules.map((r) => ({ origin: `rules ${id}, alert ${r.alert} (evaluated without its threshold)`, expr: thresholdFree(r.expr) })));
  });
}

/** How long the queries may take to all return data: scrapes every 2 s, rates need two samples. */
const DATA_DEADLINE_MS = 90_000;

useStack();
afterAll(() => stopAllProcesses());

describe('dashboards and alert rules on the live stack', () => {
  it('return data for every panel query and every alert expression', async () => {
    const queries = [...panelQueries(), ...alertQueries()];
    // Parse first: a query Prometheus would reject fails here with its origin, before any wait.
    for (const q of queries) {
      try {
        parsePromQL(q.expr);
      } catch (e) {
        throw new Error(`${q.origin}: ${(e as Error).message}`);
      }
    }
    expect(queries.length).toBeGreaterThan(200);

    await assertPortFree(9464, "`sample`'s /metrics, scraped by Prometheus as job \"sample\"");
    const sample = startNode('sample (scraped)', [CLI, 'sample', '--contract', 'all']);

    // Ask again for whatever is still empty until all have data or the deadline passes; the assertion
    // below names what stayed empty.
    let empty = queries;
    const askEmpty = async () => {
      const results = await Promise.all(empty.map(async (q) => ({ q, n: (await instantQuery(q.expr)).length })));
      empty = results.filter((r) => r.n === 0).map((r) => r.q);
      return empty;
    };
    await pollUntil('every panel query and alert expression to return data', askEmpty, (e) => e.length === 0, { timeoutMs: DATA_DEADLINE_MS, intervalMs: 2_000 }).catch(() => undefined);
    expect(
      empty.map((q) => `${q.origin}: ${q.expr}`),
      `queries that returned no data within ${DATA_DEADLINE_MS / 1000} s of starting \`sample --contract all\`\n${sample.describe()}`,
    ).toEqual([]);
  });
});
