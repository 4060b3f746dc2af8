/**
 * Short-lived processes lose nothing: 20 processes each record K measurements and are stopped with
 * SIGTERM inside their first export interval, so only the final push on exit can deliver them.
 * Prometheus (through the collector) must show exactly 20·K.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STACK_PORTS } from '../otel-config/stack.ts';
import { waitForMessage } from './support/fixture-messages.ts';
import { pollUntil } from '../test/poll.ts';
import { REPO_ROOT, startNode, stopAllProcesses } from '../test/processes.ts';
import { promString, scalarQuery } from './support/prometheus.ts';
import { useStack } from './support/stack.ts';

const PROCESSES = 20;
const K = 37;
const FIXTURE = join(REPO_ROOT, 'e2e', 'fixtures', 'short-lived.ts');

useStack();
afterAll(() => stopAllProcesses());

describe('short-lived processes and the final push', () => {
  it(`${PROCESSES} processes x ${K} measurements, stopped inside one export interval: exactly ${PROCESSES}·${K} in Prometheus`, async () => {
    const job = `short-lived-${randomUUID().slice(0, 8)}`;
    const procs = Array.from({ length: PROCESSES }, (_, i) =>
      startNode(`short-lived #${i}`, [FIXTURE], {
        OTEL_METRICS_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${STACK_PORTS.otlpHttp}`,
        // Far longer than the test: no periodic export runs, only the final push on SIGTERM.
        OTEL_METRIC_EXPORT_INTERVAL: '60000',
        OTEL_SERVICE_NAME: job,
        E2E_K: String(K),
      }),
    );
    await Promise.all(procs.map((p) => waitForMessage(p, 'ready', 90_000)));

    const ended = await Promise.all(
      procs.map(async (p) => {
        const exit = await p.stop('SIGTERM', 20_000);
        const { exportsBeforeSignal } = await waitForMessage<{ exportsBeforeSignal: number | null }>(p, 'exportsBeforeSignal', 1_000);
        return { p, exit, exportsBeforeSignal };
      }),
    );
    for (const { p, exit, exportsBeforeSignal } of ended) {
      expect(exit, p.describe()).toEqual({ code: 0, signal: null });
      // The precondition of the test: the signal came before any periodic export.
      expect(exportsBeforeSignal, p.describe()).toBe(0);
      expect(p.stderr(), p.describe()).toMatch(/final push delivered/);
    }

    const sel = `{job=${promString(job)}}`;
    const read = async () => ({
      instances: await scalarQuery(`count(masque_vpn_total_connections${sel})`),
      counterSum: await scalarQuery(`sum(masque_vpn_total_connections${sel})`),
      histogramCount: await scalarQuery(`sum(masque_vpn_connection_duration_seconds_count${sel})`),
    });
    const want = { instances: PROCESSES, counterSum: PROCESSES * K, histogramCount: PROCESSES * K };
    const got = await pollUntil(
      `Prometheus to show ${PROCESSES} instances with ${PROCESSES * K} measurements for job="${job}"`,
      read,
      (v) => v.instances === want.instances && v.counterSum === want.counterSum && v.histogramCount === want.histogramCount,
      { timeoutMs: 60_000 },
    );
    expect(got).toEqual(want);
  });
});
