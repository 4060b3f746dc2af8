/**
 * The Pushgateway path: a short-lived egress `sample` pushes its exposition on exit
 * (OTEL_CONTRACTS_PUSHGATEWAY_URL), grouped by job and instance_id, and Prometheus shows its series
 * with that job and instance_id (the Pushgateway is scraped with honor_labels).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { STACK_PORTS } from '../otel-config/stack.ts';
import { egress } from '../semconv/index.ts';
import { documentedSeriesNames } from './support/documented-series.ts';
import { scrapeValue } from '../test/exposition.ts';
import { pollUntil } from '../test/poll.ts';
import { freePort } from '../test/ports.ts';
import { CLI, startNode, stopAllProcesses } from '../test/processes.ts';
import { instantQuery, promString, type PromSample } from './support/prometheus.ts';
import { useStack } from './support/stack.ts';

const PUSHGATEWAY_URL = `http://127.0.0.1:${STACK_PORTS.pushgateway}`;

useStack();
afterAll(() => stopAllProcesses());

describe('Pushgateway', () => {
  it('a short-lived process pushes on exit and Prometheus shows its series with its job and instance_id', async () => {
    const id = randomUUID().slice(0, 8);
    const job = `egress-e2e-${id}`;
    const instanceId = `sandbox-${id}`;
    const listen = `127.0.0.1:${await freePort()}`;
    const p = startNode('sample --contract egress (Pushgateway)', [CLI, 'sample', '--contract', 'egress', '--listen', listen], {
      OTEL_CONTRACTS_PUSHGATEWAY_URL: PUSHGATEWAY_URL,
      OTEL_SERVICE_NAME: job,
      OPENSANDBOX_EGRESS_INSTANCE_ID: instanceId,
    });
    const metricsUrl = `http://${listen}/metrics`;
    const allowed = await pollUntil('the sample to serve /metrics', () => scrapeValue(metricsUrl, 'opensandbox_egress_dns_queries_total', { result: 'allowed' }), () => true, {
      timeoutMs: 30_000,
      describe: () => p.describe(),
    });

    const exit = await p.stop('SIGTERM');
    expect(exit, p.describe()).toEqual({ code: 0, signal: null });
    expect(p.stderr(), p.describe()).toMatch(/final push delivered/);

    // The group is in the Pushgateway under the grouping key job + instance_id.
    const groups = (await (await fetch(`${PUSHGATEWAY_URL}/api/v1/metrics`)).json()) as { data: { labels: Record<string, string> }[] };
    expect(groups.data.map((g) => g.labels)).toContainEqual({ job, instance_id: instanceId });

    const documented = documentedSeriesNames([egress]);
    const missing = (s: readonly PromSample[]) => {
      const seen = new Set(s.map((x) => x.metric.__name__));
      return [...documented.keys()].filter((n) => !seen.has(n));
    };
    const series = await pollUntil(
      `Prometheus to show every egress series with job="${job}" and instance_id="${instanceId}"`,
      () => instantQuery(`{job=${promString(job)}, instance_id=${promString(instanceId)}, __name__=~"opensandbox_egress_.*"}`),
      (s) => missing(s).length === 0,
      { describe: (s) => `${s.length} series; missing ${missing(s).join(', ')}` },
    );
    expect(new Set(series.map((s) => documented.get(s.metric.__name__ as string)?.family.name)).size).toBe(egress.families.length);
    const queries = series.find((s) => s.metric.__name__ === 'opensandbox_egress_dns_queries_total' && s.metric.result === 'allowed');
    expect(Number(queries?.value), 'the pushed value is the one the process served').toBe(allowed);
  });
});
