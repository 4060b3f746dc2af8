/**
 * A collector outage costs nothing: with the collector stopped for 30 s and started again, a pushing
 * component keeps serving /metrics, its memory stays bounded, its pushes resume, and the cumulative
 * counter in Prometheus equals what it recorded.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STACK_PORTS } from '../otel-config/stack.ts';
import { scrapeValue } from '../test/exposition.ts';
import { waitForMessage } from './support/fixture-messages.ts';
import { delay, pollUntil } from '../test/poll.ts';
import { freePort } from '../test/ports.ts';
import { REPO_ROOT, startNode, stopAllProcesses } from '../test/processes.ts';
import { promString, scalarQuery } from './support/prometheus.ts';
import { rssBytes } from './support/rss.ts';
import { useStack } from './support/stack.ts';

const OUTAGE_MS = 30_000;
const SCRAPE_EVERY_MS = 500;
/** Generous: the point is "bounded", not a number (the SDK keeps cumulative state, not a queue). */
const RSS_GROWTH_LIMIT = 50 * 1024 * 1024;
const COUNTER = 'masque_vpn_total_connections';
const FIXTURE = join(REPO_ROOT, 'e2e', 'fixtures', 'steady-counter.ts');

const stack = useStack();
afterAll(() => stopAllProcesses());

describe('collector outage', () => {
  it('the component keeps serving /metrics with bounded memory, pushes resume, and the cumulative counter is exact', async () => {
    const job = `steady-${randomUUID().slice(0, 8)}`;
    const p = startNode('steady-counter', [FIXTURE], {
      OTEL_METRICS_EXPORTER: 'prometheus,otlp',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()),
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${STACK_PORTS.otlpHttp}`,
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      OTEL_SERVICE_NAME: job,
      E2E_TICK_MS: '100',
    });
    const { scrapeUrl } = await waitForMessage<{ scrapeUrl: string }>(p, 'scrapeUrl');
    const inPrometheus = () => scalarQuery(`sum(${COUNTER}{job=${promString(job)}})`);

    await pollUntil('the first pushes to reach Prometheus', inPrometheus, (v) => (v ?? 0) > 0, { describe: (v) => `${v}\n${p.describe()}` });
    const rssBefore = rssBytes(p.pid);

    expect(await stack.stopPart('collector'), 'the collector was running').toBe(true);
    const failures: string[] = [];
    const values: number[] = [];
    const outageEnd = Date.now() + OUTAGE_MS;
    for (let i = 0; i < OUTAGE_MS / SCRAPE_EVERY_MS + 10 && Date.now() < outageEnd; i++) {
      try {
        values.push(await scrapeValue(scrapeUrl, COUNTER));
      } catch (e) {
        failures.push((e as Error).message);
      }
      await delay(SCRAPE_EVERY_MS);
    }
    expect(failures, '/metrics during the outage').toEqual([]);
    expect(values.length).toBeGreaterThan(0);
    expect(values.every((v, i) => i === 0 || v >= (values[i - 1] as number)), `the counter only grows: ${values.join(' ')}`).toBe(true);
    expect(values.at(-1)!, 'the component kept counting during the outage').toBeGreaterThan(values[0]!);
    // The outage was real: the pushes failed meanwhile.
    expect(await scrapeValue(scrapeUrl, 'otel_contracts_exports_total', { result: 'failure' })).toBeGreaterThan(0);

    await stack.startPart('collector');
    const atRestart = await scrapeValue(scrapeUrl, COUNTER);
    await pollUntil(`pushes to resume (Prometheus >= ${atRestart}, the total at restart)`, inPrometheus, (v) => (v ?? 0) >= atRestart, {
      describe: (v) => `${v}\n${p.describe()}\n  collector log:\n${stack.logTail('collector')}`,
    });
    const rssAfter = rssBytes(p.pid);
    console.info(`collector outage: component RSS ${(rssBefore / 2 ** 20).toFixed(1)} MiB before, ${(rssAfter / 2 ** 20).toFixed(1)} MiB after pushes resumed`);
    expect(rssAfter - rssBefore, `RSS ${rssBefore} -> ${rssAfter} bytes`).toBeLessThan(RSS_GROWTH_LIMIT);

    const exit = await p.stop('SIGTERM');
    const { total } = await waitForMessage<{ total: number }>(p, 'total', 1_000);
    expect(exit, p.describe()).toEqual({ code: 0, signal: null });
    expect(total).toBeGreaterThanOrEqual(atRestart);
    // Cumulative and exact: one series, equal to everything recorded (before, during and after the outage).
    const final = await pollUntil(`Prometheus to show the final total ${total}`, inPrometheus, (v) => v === total, { describe: (v) => `${v}\n${p.describe()}` });
    expect(final).toBe(total);
    expect(await scalarQuery(`count(${COUNTER}{job=${promString(job)}})`)).toBe(1);
  });
});
